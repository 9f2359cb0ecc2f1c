// Package oci is the source-controller's registry client: it resolves a tag,
// a semver range or a digest to a manifest digest, lists tags and reads one
// layer of an artifact. It wraps go-containerregistry's remote package, which
// speaks the distribution protocol, token and basic auth, and verifies blob
// digests as it reads.
package oci

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Scheme starts every OCI URL in a Flux spec.
const Scheme = "oci://"

// Options configure a Client.
type Options struct {
	// Keychain supplies credentials; nil means anonymous.
	Keychain authn.Keychain
	// TLS configures server verification and client certificates.
	TLS *tls.Config
	// Insecure allows plain HTTP. Loopback registries are reached over
	// plain HTTP anyway, as go-containerregistry does.
	Insecure bool
}

// Client reads from registries with one set of options.
type Client struct {
	opts      Options
	transport http.RoundTripper
}

// New returns a Client.
func New(opts Options) *Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = opts.TLS
	// A Client lives for one reconcile; kept-alive connections would
	// outlive it.
	tr.DisableKeepAlives = true
	if opts.Keychain == nil {
		opts.Keychain = authn.NewMultiKeychain()
	}
	return &Client{opts: opts, transport: tr}
}

// Repository parses an oci://host[:port]/path URL without tag or digest.
func (c *Client) Repository(url string) (name.Repository, error) {
	if !strings.HasPrefix(url, Scheme) {
		return name.Repository{}, fmt.Errorf("URL '%s' must start with %s", url, Scheme)
	}
	s := strings.TrimSuffix(strings.TrimPrefix(url, Scheme), "/")
	var nopts []name.Option
	if c.opts.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	repo, err := name.NewRepository(s, append(nopts, name.StrictValidation)...)
	if err != nil {
		return name.Repository{}, fmt.Errorf("invalid OCI repository URL '%s': %w", url, err)
	}
	return repo, nil
}

func (c *Client) remote(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(c.opts.Keychain),
		remote.WithTransport(c.transport),
		remote.WithUserAgent("ferry-source-controller"),
		remote.WithRetryBackoff(remote.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 3}),
	}
}

// Tags lists the tags of repo.
func (c *Client) Tags(ctx context.Context, repo name.Repository) ([]string, error) {
	tags, err := remote.List(repo, c.remote(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("failed to list tags of '%s': %w", repo, err)
	}
	return tags, nil
}

// Digest returns the digest of the manifest ref points to, asking with a
// HEAD request so nothing is downloaded.
func (c *Client) Digest(ctx context.Context, ref name.Reference) (string, error) {
	desc, err := remote.Head(ref, c.remote(ctx)...)
	if err != nil && !IsUnauthorized(err) && !IsNotFound(err) {
		// Some registries answer HEAD badly; GET tells the truth.
		if d, gerr := remote.Get(ref, c.remote(ctx)...); gerr == nil {
			return d.Digest.String(), nil
		}
	}
	if IsNotFound(err) {
		return "", &NotFoundError{What: fmt.Sprintf("'%s' not found in the registry", ref)}
	}
	if err != nil {
		return "", fmt.Errorf("failed to resolve '%s': %w", ref, err)
	}
	return desc.Digest.String(), nil
}

// Ref selects an artifact in a repository; Digest wins over SemVer, SemVer
// over Tag, and an empty Ref means the tag latest.
type Ref struct {
	Tag, SemVer, SemverFilter, Digest string
}

// Resolve returns the manifest to pull for ref and its revision: <tag>@<digest>
// for a tag or semver range, <digest> for a digest.
func (c *Client) Resolve(ctx context.Context, repo name.Repository, ref Ref) (name.Digest, string, error) {
	if ref.Digest != "" {
		d, err := name.NewDigest(repo.String()+"@"+ref.Digest, name.StrictValidation)
		if err != nil {
			return name.Digest{}, "", fmt.Errorf("invalid digest '%s': %w", ref.Digest, err)
		}
		return d, ref.Digest, nil
	}
	tag := ref.Tag
	if ref.SemVer != "" {
		tags, err := c.Tags(ctx, repo)
		if err != nil {
			return name.Digest{}, "", err
		}
		if tag, err = highestTag(tags, ref.SemVer, ref.SemverFilter); err != nil {
			return name.Digest{}, "", err
		}
	}
	if tag == "" {
		tag = "latest"
	}
	digest, err := c.Digest(ctx, repo.Tag(tag))
	if err != nil {
		return name.Digest{}, "", err
	}
	d, err := name.NewDigest(repo.String()+"@"+digest, name.StrictValidation)
	if err != nil {
		return name.Digest{}, "", err
	}
	return d, tag + "@" + digest, nil
}

// highestTag picks the highest tag satisfying the semver range, among tags
// matching filter when set.
func highestTag(tags []string, constraint, filter string) (string, error) {
	cons, err := semver.NewConstraint(constraint)
	if err != nil {
		return "", fmt.Errorf("invalid semver range '%s': %w", constraint, err)
	}
	var re *regexp.Regexp
	if filter != "" {
		if re, err = regexp.Compile(filter); err != nil {
			return "", fmt.Errorf("invalid semverFilter '%s': %w", filter, err)
		}
	}
	var best *semver.Version
	var pick string
	for _, t := range tags {
		if re != nil && !re.MatchString(t) {
			continue
		}
		v, err := semver.NewVersion(t)
		if err != nil || !cons.Check(v) {
			continue
		}
		if best == nil || v.GreaterThan(best) {
			best, pick = v, t
		}
	}
	if best == nil {
		return "", &NotFoundError{What: fmt.Sprintf("no tag matches semver range '%s'", constraint)}
	}
	return pick, nil
}

// Layer opens the first layer of the manifest at ref whose media type is
// mediaType, or the first layer when mediaType is empty. The reader checks
// the layer's digest as it is read.
func (c *Client) Layer(ctx context.Context, ref name.Reference, mediaType string) (io.ReadCloser, error) {
	img, err := c.Image(ctx, ref)
	if err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("failed to fetch manifest of '%s': %w", ref, err)
	}
	for _, l := range m.Layers {
		if mediaType != "" && string(l.MediaType) != mediaType {
			continue
		}
		layer, err := img.LayerByDigest(l.Digest)
		if err != nil {
			return nil, err
		}
		rc, err := layer.Compressed()
		if err != nil {
			return nil, fmt.Errorf("failed to fetch layer %s of '%s': %w", l.Digest, ref, err)
		}
		return rc, nil
	}
	if mediaType == "" {
		return nil, &NotFoundError{What: fmt.Sprintf("artifact '%s' has no layers", ref)}
	}
	return nil, &NotFoundError{What: fmt.Sprintf("artifact '%s' has no layer of media type '%s'", ref, mediaType)}
}

// Image returns the manifest at ref; its blobs are downloaded, and checked
// against their digests, as they are read. The cosign verifier reads
// signature images with it.
func (c *Client) Image(ctx context.Context, ref name.Reference) (v1.Image, error) {
	img, err := remote.Image(ref, c.remote(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("failed to fetch manifest of '%s': %w", ref, err)
	}
	return img, nil
}

// NotFoundError says what the registry does not hold.
type NotFoundError struct{ What string }

func (e *NotFoundError) Error() string { return e.What }

// IsUnauthorized reports whether the registry refused the credentials.
func IsUnauthorized(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden)
}

// IsNotFound reports whether the registry does not have what was asked for.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return true
	}
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	if te.StatusCode == http.StatusNotFound {
		return true
	}
	for _, d := range te.Errors {
		switch d.Code {
		case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode:
			return true
		}
	}
	return false
}
