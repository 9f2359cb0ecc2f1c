package git

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
)

// CloneOptions says what to clone and how.
type CloneOptions struct {
	URL  string
	Auth *Auth
	Ref  Reference
	// RecurseSubmodules also checks out submodules, with the same Auth.
	RecurseSubmodules bool
	// SparseCheckout limits the work tree to these directories.
	SparseCheckout []string
}

// Clone fetches the one commit ref resolves to into dir (created if
// missing, and expected to be empty) and checks it out. It fetches with
// depth 1 and only the one ref, because the controller archives a single
// tree and never needs history; a commit reference is the exception, see
// fetchCommit. The result carries the signed payload of the commit and, for
// tag references, of the tag, for verification.
func Clone(ctx context.Context, dir string, opts CloneOptions) (*Commit, error) {
	rc, err := newRemoteCall(opts.URL, opts.Auth, opts.Ref)
	if err != nil {
		return nil, err
	}
	sparse, err := sparseDirs(opts.SparseCheckout)
	if err != nil {
		return nil, err
	}
	repo, err := gogit.PlainInit(dir, false)
	if err != nil {
		return nil, newError(KindOther, err, "failed to initialise the checkout directory: %s", err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{
		Name: gogit.DefaultRemoteName,
		URLs: []string{rc.url.String()},
	}); err != nil {
		return nil, newError(KindOther, err, "failed to configure the remote: %s", err)
	}
	c := &cloner{ctx: ctx, rc: rc, repo: repo, ref: opts.Ref}

	t, err := c.fetch()
	if err != nil {
		return nil, err
	}
	if err := c.checkout(t, sparse); err != nil {
		return nil, err
	}
	if opts.RecurseSubmodules {
		if err := c.updateSubmodules(sparse); err != nil {
			return nil, err
		}
	}
	return c.result(t)
}

// cloner carries one Clone's state between its steps.
type cloner struct {
	ctx  context.Context
	rc   *remoteCall
	repo *gogit.Repository
	ref  Reference
}

// fetch downloads the objects for the reference and returns what it
// resolved to. A semver range needs the remote's tag list first; every other
// reference is fetched by name and read back from the local ref.
func (c *cloner) fetch() (target, error) {
	switch c.ref.kind() {
	case refCommit:
		return c.fetchCommit()
	case refSemVer:
		refs, err := c.rc.list(c.ctx)
		if err != nil {
			return target{}, c.rc.fail(err, c.ref)
		}
		t, err := refs.resolve(c.ref)
		if err != nil {
			return target{}, err
		}
		return c.fetchRef(t.ref, t.display)
	case refName:
		return c.fetchRef(plumbing.ReferenceName(c.ref.Name), c.ref.Name)
	case refTag:
		return c.fetchRef(plumbing.NewTagReferenceName(c.ref.Tag), c.ref.Tag)
	}
	return c.fetchRef(plumbing.NewBranchReferenceName(c.ref.branch()), c.ref.branch())
}

// fetchRef shallow-fetches one ref into the local ref of the same name.
func (c *cloner) fetchRef(name plumbing.ReferenceName, display string) (target, error) {
	if name == plumbing.HEAD {
		// HEAD cannot be a fetch destination in a non-bare repository.
		if err := c.fetchSpecs(1, config.RefSpec("+HEAD:refs/ferry/HEAD")); err != nil {
			return target{}, err
		}
		name = "refs/ferry/HEAD"
	} else if err := c.fetchSpecs(1, config.RefSpec(fmt.Sprintf("+%s:%s", name, name))); err != nil {
		return target{}, err
	}
	local, err := c.repo.Reference(name, true)
	if err != nil {
		return target{}, c.rc.fail(err, c.ref)
	}
	h, err := c.peel(local.Hash())
	if err != nil {
		return target{}, err
	}
	return target{ref: name, display: display, hash: h}, nil
}

// fetchCommit gets a commit that no ref may point to. With a branch, the
// branch is fetched (shallow when the commit is its tip, in full otherwise)
// and must contain the commit. Without one, the commit is asked for by
// hash when the server advertises allow-reachable-sha1-in-want or
// allow-tip-sha1-in-want; otherwise (plain git servers by default) every
// branch and tag is fetched in full and searched.
func (c *cloner) fetchCommit() (target, error) {
	h := plumbing.NewHash(strings.ToLower(c.ref.Commit))
	t := target{display: c.ref.Branch, hash: h}
	if c.ref.Branch != "" {
		branch := plumbing.NewBranchReferenceName(c.ref.Branch)
		refs, err := c.rc.list(c.ctx)
		if err != nil {
			return target{}, c.rc.fail(err, c.ref)
		}
		tip, ok := refs.direct[branch]
		if !ok {
			return target{}, newError(KindRefNotFound, nil, "branch '%s' not found in remote", c.ref.Branch)
		}
		depth := 0
		if tip == h {
			depth = 1
		}
		t.ref = branch
		if err := c.fetchSpecs(depth, config.RefSpec(fmt.Sprintf("+%s:%s", branch, branch))); err != nil {
			return target{}, err
		}
	} else {
		err := c.fetchSpecs(1, config.RefSpec(h.String()+":refs/ferry/commit"))
		if err != nil && KindOf(err) != KindOther && KindOf(err) != KindRefNotFound {
			return target{}, err
		}
		if err != nil {
			if err := c.fetchSpecs(0, "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"); err != nil {
				return target{}, err
			}
		}
	}
	if _, err := c.repo.CommitObject(h); err != nil {
		where := "the remote"
		if c.ref.Branch != "" {
			where = fmt.Sprintf("branch '%s'", c.ref.Branch)
		}
		return target{}, newError(KindRefNotFound, err, "commit '%s' not found in %s", c.ref.Commit, where)
	}
	return t, nil
}

func (c *cloner) fetchSpecs(depth int, specs ...config.RefSpec) error {
	ca, cert, key := c.rc.auth.tlsMaterial()
	opts := &gogit.FetchOptions{
		RemoteName: gogit.DefaultRemoteName,
		RefSpecs:   specs,
		Depth:      depth,
		Tags:       gogit.NoTags,
		Force:      true,
		Auth:       c.rc.method(c.ctx),
		CABundle:   ca,
		ClientCert: cert,
		ClientKey:  key,
	}
	err := c.rc.guard(c.ctx, func() error { return c.repo.FetchContext(c.ctx, opts) })
	if err == nil || errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return nil
	}
	return c.rc.fail(err, c.ref)
}

// peel follows annotated tags (possibly nested) down to the commit.
func (c *cloner) peel(h plumbing.Hash) (plumbing.Hash, error) {
	for range 16 {
		tag, err := c.repo.TagObject(h)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return h, nil
		}
		if err != nil {
			return h, newError(KindOther, err, "failed to read tag %s: %s", h, err)
		}
		if tag.TargetType != plumbing.CommitObject && tag.TargetType != plumbing.TagObject {
			return h, newError(KindInvalid, nil, "%s does not point to a commit but to a %s", c.ref, tag.TargetType)
		}
		h = tag.Target
	}
	return h, newError(KindInvalid, nil, "%s is a chain of more than 16 tags", c.ref)
}

// result collects the commit and, for tag references, the tag.
func (c *cloner) result(t target) (*Commit, error) {
	obj, err := c.repo.CommitObject(t.hash)
	if err != nil {
		return nil, newError(KindOther, err, "failed to read commit %s: %s", t.hash, err)
	}
	commit, err := commitFrom(obj, t.display)
	if err != nil {
		return nil, newError(KindOther, err, "failed to encode commit %s: %s", t.hash, err)
	}
	if !t.ref.IsTag() {
		return commit, nil
	}
	local, err := c.repo.Reference(t.ref, false)
	if err != nil {
		return nil, newError(KindOther, err, "failed to read %s: %s", t.ref, err)
	}
	commit.Tag = &Tag{Name: t.ref.Short()}
	if tagObj, err := c.repo.TagObject(local.Hash()); err == nil {
		if commit.Tag, err = tagFrom(tagObj); err != nil {
			return nil, newError(KindOther, err, "failed to encode tag %s: %s", t.ref.Short(), err)
		}
		commit.Tag.Name = t.ref.Short()
	}
	return commit, nil
}
