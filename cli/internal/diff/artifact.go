package diff

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"

	"github.com/ferrycd/ferry/pkg/artifact/fetch"
)

// Artifacts fetches source artifacts the way the controllers do (verified
// against status.artifact.digest, untarred safely), from the user's
// machine. The URL a source advertises usually names the in-cluster
// Service of the source-controller, which a laptop cannot resolve; then
// the same artifact is fetched through the API server's service proxy
// with the user's credentials (which needs get on services/proxy in the
// controller's namespace).
type Artifacts struct {
	// Config is the user's REST config, for the service proxy.
	Config *rest.Config
	// CacheDir keeps fetched artifacts by digest; empty means the user's
	// cache directory.
	CacheDir string
}

// Fetch returns a directory holding the extracted artifact.
func (a *Artifacts) Fetch(ctx context.Context, rawURL, digest string) (string, error) {
	return a.get(ctx, rawURL, digest, false)
}

// FetchFile returns the path of a single-file artifact (a packaged chart).
func (a *Artifacts) FetchFile(ctx context.Context, rawURL, digest string) (string, error) {
	return a.get(ctx, rawURL, digest, true)
}

func (a *Artifacts) get(ctx context.Context, rawURL, digest string, file bool) (string, error) {
	dir, err := a.cacheDir()
	if err != nil {
		return "", err
	}
	run := func(f *fetch.Fetcher, u string) (string, error) {
		if file {
			return f.FetchFile(ctx, u, digest)
		}
		return f.Fetch(ctx, u, digest)
	}
	direct, err := fetch.New(dir, fetch.WithRetries(0), fetch.WithTimeout(10*time.Second))
	if err != nil {
		return "", err
	}
	path, err := run(direct, rawURL)
	if err == nil || !unreachable(err) || a.Config == nil {
		return path, err
	}
	proxied, perr := ProxyURL(a.Config.Host, rawURL)
	if perr != nil {
		return "", fmt.Errorf("%w (and no service proxy fallback: %v)", err, perr)
	}
	hc, herr := rest.HTTPClientFor(a.Config)
	if herr != nil {
		return "", herr
	}
	viaProxy, ferr := fetch.New(dir, fetch.WithHTTPClient(hc), fetch.WithRetries(1))
	if ferr != nil {
		return "", ferr
	}
	path, perr = run(viaProxy, proxied)
	if perr != nil {
		return "", fmt.Errorf("fetching the artifact directly failed (%v) and through the API server's service proxy too: %w; "+
			"use --path to diff a local directory", err, perr)
	}
	return path, nil
}

func (a *Artifacts) cacheDir() (string, error) {
	if a.CacheDir != "" {
		return a.CacheDir, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "ferry", "artifacts"), nil
}

// unreachable is true for a download that never got an HTTP answer (a
// name that does not resolve, a refused connection).
func unreachable(err error) bool {
	var de *fetch.DownloadError
	if errors.As(err, &de) && de.StatusCode == 0 {
		return true
	}
	var dns *net.DNSError
	var op *net.OpError
	return errors.As(err, &dns) || errors.As(err, &op)
}

// ProxyURL rewrites an artifact URL that names an in-cluster Service
// (<service>.<namespace>[.svc[.cluster.local]][:port]) into the API
// server's service proxy URL for it.
func ProxyURL(apiServer, rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	host := strings.TrimSuffix(u.Hostname(), ".")
	if net.ParseIP(host) != nil {
		return "", fmt.Errorf("%s is an address, not a Service name", host)
	}
	parts := strings.Split(host, ".")
	if len(parts) < 2 || (len(parts) > 2 && parts[2] != "svc") {
		return "", fmt.Errorf("%s does not name an in-cluster Service (<service>.<namespace>.svc)", host)
	}
	svc, ns := parts[0], parts[1]
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	scheme := ""
	if u.Scheme == "https" {
		scheme = "https:"
	}
	p := fmt.Sprintf("%s/api/v1/namespaces/%s/services/%s%s:%s/proxy%s",
		strings.TrimSuffix(apiServer, "/"), ns, scheme, svc, port, u.EscapedPath())
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p, nil
}

// artifactOf reads a source's status.artifact url, digest and revision;
// ok is false when it has none yet.
func artifactOf(src *unstructured.Unstructured) (map[string]string, bool) {
	out := map[string]string{}
	for _, f := range []string{"url", "digest", "revision"} {
		out[f], _, _ = unstructured.NestedString(src.Object, "status", "artifact", f)
	}
	return out, out["url"] != ""
}
