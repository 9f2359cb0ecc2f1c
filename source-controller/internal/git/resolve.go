package git

import (
	"context"
	"net/url"
	"strings"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
)

// ResolveRemote asks the remote which commit ref points to, without
// cloning: one ref advertisement (ls-remote) instead of a pack download.
// The controller compares the result's Revision with its stored artifact
// and skips the clone when nothing changed. Only Hash and Reference are
// set; Revision() equals what Clone would return for the same state.
//
// A semver range picks the highest matching tag; annotated tags resolve to
// the commit they point to. A commit reference is returned as is, without
// contacting the remote, since a commit cannot move.
func ResolveRemote(ctx context.Context, repoURL string, auth *Auth, ref Reference) (*Commit, error) {
	rc, err := newRemoteCall(repoURL, auth, ref)
	if err != nil {
		return nil, err
	}
	if ref.kind() == refCommit {
		return &Commit{Hash: strings.ToLower(ref.Commit), Reference: ref.Branch}, nil
	}
	refs, err := rc.list(ctx)
	if err != nil {
		return nil, rc.fail(err, ref)
	}
	t, err := refs.resolve(ref)
	if err != nil {
		return nil, err
	}
	return &Commit{Hash: t.hash.String(), Reference: t.display}, nil
}

// remoteCall holds what every operation against one remote needs.
type remoteCall struct {
	url  *url.URL
	auth *Auth
}

// newRemoteCall validates the URL, the reference and the pairing of URL and
// credentials before any traffic. An ssh:// URL without an SSH Auth is
// refused outright: go-git would otherwise fall back to the SSH agent and
// ~/.ssh/known_hosts of the controller's own environment.
func newRemoteCall(rawURL string, auth *Auth, ref Reference) (*remoteCall, error) {
	u, err := parseRepoURL(rawURL)
	if err != nil {
		return nil, err
	}
	if err := ref.validate(); err != nil {
		return nil, err
	}
	hasSSH := auth != nil && auth.ssh != nil
	switch {
	case u.Scheme == "ssh" && !hasSSH:
		return nil, newError(KindInvalid, nil,
			"ssh:// URLs need a secretRef with '%s' and '%s'", KeyIdentity, KeyKnownHosts)
	case u.Scheme != "ssh" && hasSSH:
		return nil, newError(KindInvalid, nil, "SSH credentials cannot be used with a %s:// URL", u.Scheme)
	}
	return &remoteCall{url: u, auth: auth}, nil
}

func (rc *remoteCall) method(ctx context.Context) transport.AuthMethod {
	return rc.auth.method(ctx, hostPort(rc.url))
}

// list runs the ls-remote. Peeled entries ("refs/tags/v1^{}") are kept
// apart so annotated tags resolve to their commit.
func (rc *remoteCall) list(ctx context.Context) (remoteRefs, error) {
	remote := gogit.NewRemote(memory.NewStorage(), &config.RemoteConfig{
		Name: gogit.DefaultRemoteName,
		URLs: []string{rc.url.String()},
	})
	ca, cert, key := rc.auth.tlsMaterial()
	var list []*plumbing.Reference
	err := rc.guard(ctx, func() (err error) {
		list, err = remote.ListContext(ctx, &gogit.ListOptions{
			Auth:          rc.method(ctx),
			CABundle:      ca,
			ClientCert:    cert,
			ClientKey:     key,
			PeelingOption: gogit.AppendPeeled,
		})
		return err
	})
	if err != nil {
		return remoteRefs{}, err
	}
	refs := remoteRefs{
		direct: map[plumbing.ReferenceName]plumbing.Hash{},
		peeled: map[plumbing.ReferenceName]plumbing.Hash{},
	}
	for _, r := range list {
		if r.Type() != plumbing.HashReference {
			continue
		}
		name := r.Name().String()
		if base, ok := strings.CutSuffix(name, "^{}"); ok {
			refs.peeled[plumbing.ReferenceName(base)] = r.Hash()
			continue
		}
		refs.direct[r.Name()] = r.Hash()
	}
	// HEAD is advertised as a symbolic ref by some servers; keep it usable
	// for spec.ref.name: HEAD.
	for _, r := range list {
		if r.Name() == plumbing.HEAD && r.Type() == plumbing.SymbolicReference {
			if h, ok := refs.direct[r.Target()]; ok {
				refs.direct[plumbing.HEAD] = h
			}
		}
	}
	return refs, nil
}

// guard runs op but returns when ctx ends, for SSH remotes. go-git opens
// SSH connections without a context and x/crypto bounds only the TCP dial,
// so a server that accepts a connection and then stays silent would block
// the reconcile for good. The abandoned op ends when its connection does;
// its results are never read. HTTP honours the context by itself.
func (rc *remoteCall) guard(ctx context.Context, op func() error) error {
	if rc.url.Scheme != "ssh" {
		return op()
	}
	done := make(chan error, 1)
	go func() { done <- op() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fail classifies err, quoting the URL without any credentials in it.
func (rc *remoteCall) fail(err error, ref Reference) error {
	return classify(err, rc.url.Redacted(), ref.String(), rc.auth.redactor())
}
