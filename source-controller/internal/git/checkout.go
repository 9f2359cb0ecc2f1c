package git

import (
	"net/url"
	"path"
	"strings"

	gogit "github.com/go-git/go-git/v5"
)

// checkout writes the work tree of t. A branch whose tip is the commit is
// checked out as that branch, so the clone looks like one made by git;
// everything else, including an older commit of a branch, leaves HEAD
// detached at the commit.
func (c *cloner) checkout(t target, dirs []string) error {
	w, err := c.repo.Worktree()
	if err != nil {
		return newError(KindOther, err, "failed to open the work tree: %s", err)
	}
	opts := &gogit.CheckoutOptions{Hash: t.hash, Force: true, SparseCheckoutDirectories: dirs}
	if tip, err := c.repo.Reference(t.ref, false); err == nil && t.ref.IsBranch() && tip.Hash() == t.hash {
		opts = &gogit.CheckoutOptions{Branch: t.ref, Force: true, SparseCheckoutDirectories: dirs}
	}
	if err := w.Checkout(opts); err != nil {
		return newError(KindOther, err, "failed to check out %s: %s", t.hash, err)
	}
	return nil
}

// updateSubmodules initialises and checks out the submodules, recursively
// and shallowly, with the parent's credentials (go-git does not pass the
// custom CA or client certificate on to submodule fetches). Submodules
// outside a sparse checkout are skipped.
func (c *cloner) updateSubmodules(dirs []string) error {
	w, err := c.repo.Worktree()
	if err != nil {
		return newError(KindOther, err, "failed to open the work tree: %s", err)
	}
	subs, err := w.Submodules()
	if err != nil {
		return newError(KindOther, err, "failed to read .gitmodules: %s", err)
	}
	for _, s := range subs {
		if !inSparse(s.Config().Path, dirs) {
			continue
		}
		opts := &gogit.SubmoduleUpdateOptions{
			Init:              true,
			RecurseSubmodules: gogit.DefaultSubmoduleRecursionDepth,
			Auth:              c.rc.method(c.ctx),
			Depth:             1,
		}
		err := c.rc.guard(c.ctx, func() error { return s.UpdateContext(c.ctx, opts) })
		if err != nil {
			what := "submodule '" + s.Config().Name + "'"
			return classify(err, redactURL(s.Config().URL), what, c.rc.auth.redactor())
		}
	}
	return nil
}

// sparseDirs cleans spec.sparseCheckout into the relative, slash-separated
// directories go-git expects, refusing paths that leave the repository.
func sparseDirs(in []string) ([]string, error) {
	var out []string
	for _, d := range in {
		d = strings.TrimSpace(d)
		clean := path.Clean("/" + d)
		if strings.HasPrefix(d, "/") || hasDotDot(d) {
			return nil, newError(KindInvalid, nil,
				"sparse checkout directory '%s' must be relative to the repository root", d)
		}
		if clean == "/" {
			// The root means everything: no sparse checkout at all.
			return nil, nil
		}
		out = append(out, strings.TrimPrefix(clean, "/"))
	}
	return out, nil
}

func inSparse(p string, dirs []string) bool {
	if len(dirs) == 0 {
		return true
	}
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

func hasDotDot(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return true
		}
	}
	return false
}

// redactURL hides a password in a URL we did not write, such as one from
// .gitmodules.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable url>"
	}
	return u.Redacted()
}
