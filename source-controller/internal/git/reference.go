package git

import (
	"fmt"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5/plumbing"
)

// DefaultBranch is checked out when a Reference is empty, as in Flux.
const DefaultBranch = "master"

// Reference selects what to check out; it mirrors spec.ref. When several
// fields are set the most specific one wins: Commit, then Name, then SemVer,
// then Tag, then Branch. Branch still matters next to Commit: only that
// branch is fetched and it names the revision.
type Reference struct {
	Branch string
	Tag    string
	SemVer string
	Name   string
	Commit string
}

type refKind int

const (
	refBranch refKind = iota
	refTag
	refSemVer
	refName
	refCommit
)

func (r Reference) kind() refKind {
	switch {
	case r.Commit != "":
		return refCommit
	case r.Name != "":
		return refName
	case r.SemVer != "":
		return refSemVer
	case r.Tag != "":
		return refTag
	}
	return refBranch
}

func (r Reference) branch() string {
	if r.Branch == "" {
		return DefaultBranch
	}
	return r.Branch
}

// String names the winning field for messages: "branch 'main'".
func (r Reference) String() string {
	switch r.kind() {
	case refCommit:
		return fmt.Sprintf("commit '%s'", r.Commit)
	case refName:
		return fmt.Sprintf("ref '%s'", r.Name)
	case refSemVer:
		return fmt.Sprintf("tag matching semver '%s'", r.SemVer)
	case refTag:
		return fmt.Sprintf("tag '%s'", r.Tag)
	}
	return fmt.Sprintf("branch '%s'", r.branch())
}

// validate catches references that cannot exist before asking a remote.
func (r Reference) validate() error {
	switch r.kind() {
	case refCommit:
		if !plumbing.IsHash(strings.ToLower(r.Commit)) {
			return newError(KindInvalid, nil, "commit '%s' is not a full 40-character SHA-1", r.Commit)
		}
		if r.Branch != "" {
			return validRefName(plumbing.NewBranchReferenceName(r.Branch), "branch", r.Branch)
		}
	case refName:
		if !strings.HasPrefix(r.Name, "refs/") && r.Name != "HEAD" {
			return newError(KindInvalid, nil, "ref name '%s' must be a full reference such as refs/heads/main", r.Name)
		}
		return validRefName(plumbing.ReferenceName(r.Name), "ref name", r.Name)
	case refSemVer:
		if _, err := semver.NewConstraint(r.SemVer); err != nil {
			return newError(KindInvalid, err, "semver range '%s' is not valid: %s", r.SemVer, err)
		}
	case refTag:
		return validRefName(plumbing.NewTagReferenceName(r.Tag), "tag", r.Tag)
	default:
		return validRefName(plumbing.NewBranchReferenceName(r.branch()), "branch", r.branch())
	}
	return nil
}

func validRefName(n plumbing.ReferenceName, what, value string) error {
	if n.Validate() != nil || !n.IsSafe() {
		return newError(KindInvalid, nil, "%s '%s' is not a valid Git reference name", what, value)
	}
	return nil
}

// target is a Reference resolved against the remote's refs.
type target struct {
	// ref is the remote ref to fetch; empty for a bare commit.
	ref plumbing.ReferenceName
	// display is what the revision is reported under (Commit.Reference).
	display string
	// hash is the commit the ref points to, peeled through annotated tags;
	// zero when not known yet.
	hash plumbing.Hash
}

// remoteRefs is the answer of an ls-remote: ref name to object, and for
// annotated tags the commit they peel to.
type remoteRefs struct {
	direct map[plumbing.ReferenceName]plumbing.Hash
	peeled map[plumbing.ReferenceName]plumbing.Hash
}

// commitOf returns the commit a ref points to, peeling annotated tags.
func (rr remoteRefs) commitOf(n plumbing.ReferenceName) (plumbing.Hash, bool) {
	if h, ok := rr.peeled[n]; ok {
		return h, true
	}
	h, ok := rr.direct[n]
	return h, ok
}

// resolve picks the remote ref for r (a non-commit Reference) and the commit
// it points to.
func (rr remoteRefs) resolve(r Reference) (target, error) {
	var t target
	switch r.kind() {
	case refName:
		t = target{ref: plumbing.ReferenceName(r.Name), display: r.Name}
	case refSemVer:
		tag, err := pickSemVer(r.SemVer, rr.tags())
		if err != nil {
			return target{}, err
		}
		t = target{ref: plumbing.NewTagReferenceName(tag), display: tag}
	case refTag:
		t = target{ref: plumbing.NewTagReferenceName(r.Tag), display: r.Tag}
	default:
		t = target{ref: plumbing.NewBranchReferenceName(r.branch()), display: r.branch()}
	}
	h, ok := rr.commitOf(t.ref)
	if !ok {
		return target{}, newError(KindRefNotFound, nil, "%s not found in remote", r)
	}
	t.hash = h
	return t, nil
}

func (rr remoteRefs) tags() []string {
	var out []string
	for n := range rr.direct {
		if n.IsTag() {
			out = append(out, n.Short())
		}
	}
	return out
}

// pickSemVer returns the tag with the highest version in the range. Tags
// that are not versions are skipped; a leading "v" is allowed. Equal
// versions spelled differently ("v1.0.0", "1.0.0") are ordered by name so
// the choice is stable.
func pickSemVer(rng string, tags []string) (string, error) {
	c, err := semver.NewConstraint(rng)
	if err != nil {
		return "", newError(KindInvalid, err, "semver range '%s' is not valid: %s", rng, err)
	}
	type cand struct {
		name string
		v    *semver.Version
	}
	var cands []cand
	for _, t := range tags {
		v, err := semver.NewVersion(t)
		if err != nil || !c.Check(v) {
			continue
		}
		cands = append(cands, cand{t, v})
	}
	if len(cands) == 0 {
		return "", newError(KindNoMatchingTag, nil,
			"no tag in the remote matches semver range '%s' (%d tags seen)", rng, len(tags))
	}
	sort.Slice(cands, func(i, j int) bool {
		if cmp := cands[i].v.Compare(cands[j].v); cmp != 0 {
			return cmp > 0
		}
		return cands[i].name > cands[j].name
	})
	return cands[0].name, nil
}
