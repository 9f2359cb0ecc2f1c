package git

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	. "github.com/onsi/gomega"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestCloneAndResolve(t *testing.T) {
	tests := []struct {
		name     string
		ref      Reference
		hash     *string
		revision string // with %s for the hash
		files    []string
		tag      string // expected Tag.Name, "" for none
		tagObj   bool   // the tag is annotated
		content  map[string]string
	}{
		{name: "empty ref means master", hash: &fx.c2, revision: "master@sha1:", files: []string{"README.md"}, content: map[string]string{"apps/app.yaml": "app: 2\n"}},
		{name: "branch", ref: Reference{Branch: "feature"}, hash: &fx.c3, revision: "feature@sha1:", files: []string{"feature.txt"}},
		{name: "lightweight tag", ref: Reference{Tag: "v1.0.0"}, hash: &fx.c1, revision: "v1.0.0@sha1:", tag: "v1.0.0"},
		{name: "annotated tag peels to its commit", ref: Reference{Tag: "v1.1.0"}, hash: &fx.c2, revision: "v1.1.0@sha1:", tag: "v1.1.0", tagObj: true},
		{name: "semver picks the highest match, no v prefix", ref: Reference{SemVer: ">=1.0.0 <2.0.0"}, hash: &fx.c3, revision: "1.2.0@sha1:", tag: "1.2.0", tagObj: true},
		{name: "semver with v prefix and annotated tag", ref: Reference{SemVer: "1.1.x"}, hash: &fx.c2, revision: "v1.1.0@sha1:", tag: "v1.1.0", tagObj: true},
		{name: "semver prerelease range", ref: Reference{SemVer: ">=2.0.0-0"}, hash: &fx.c4, revision: "v2.0.0-rc.1@sha1:", tag: "v2.0.0-rc.1"},
		{name: "name: pull request ref", ref: Reference{Name: "refs/pull/1/head"}, hash: &fx.c4, revision: "refs/pull/1/head@sha1:", files: []string{"pr.txt"}},
		{name: "name: branch keeps the full ref", ref: Reference{Name: "refs/heads/feature"}, hash: &fx.c3, revision: "refs/heads/feature@sha1:"},
		{name: "name: tag carries the tag", ref: Reference{Name: "refs/tags/v1.1.0"}, hash: &fx.c2, revision: "refs/tags/v1.1.0@sha1:", tag: "v1.1.0", tagObj: true},
		{name: "name: HEAD", ref: Reference{Name: "HEAD"}, hash: &fx.c2, revision: "HEAD@sha1:"},
		{name: "name wins over semver, tag and branch", ref: Reference{Name: "refs/pull/1/head", SemVer: "*", Tag: "v1.0.0", Branch: "feature"}, hash: &fx.c4, revision: "refs/pull/1/head@sha1:"},
		{name: "semver wins over tag", ref: Reference{SemVer: "1.1.x", Tag: "v1.0.0"}, hash: &fx.c2, revision: "v1.1.0@sha1:", tag: "v1.1.0", tagObj: true},
		{name: "tag wins over branch", ref: Reference{Tag: "v1.0.0", Branch: "feature"}, hash: &fx.c1, revision: "v1.0.0@sha1:", tag: "v1.0.0"},
		{name: "bare commit", ref: Reference{Commit: fx.c1}, hash: &fx.c1, revision: "sha1:", content: map[string]string{"apps/app.yaml": "app: 1\n"}},
		{name: "commit wins over everything", ref: Reference{Commit: fx.c3, Name: "refs/pull/1/head", Tag: "v1.0.0"}, hash: &fx.c3, revision: "sha1:", files: []string{"feature.txt"}},
		{name: "commit at branch tip", ref: Reference{Commit: fx.c2, Branch: "master"}, hash: &fx.c2, revision: "master@sha1:"},
		{name: "older commit in branch", ref: Reference{Commit: fx.c1, Branch: "master"}, hash: &fx.c1, revision: "master@sha1:", content: map[string]string{"apps/app.yaml": "app: 1\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			ctx := testContext(t)
			dir := t.TempDir()

			c, err := Clone(ctx, dir, CloneOptions{URL: fx.url, Ref: tt.ref})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(c.Hash).To(Equal(*tt.hash))
			g.Expect(c.Revision()).To(Equal(tt.revision + *tt.hash))
			g.Expect(c.Encoded).NotTo(BeEmpty())
			g.Expect(c.Message).NotTo(BeEmpty())
			for _, f := range tt.files {
				g.Expect(filepath.Join(dir, f)).To(BeAnExistingFile())
			}
			for f, want := range tt.content {
				g.Expect(os.ReadFile(filepath.Join(dir, f))).To(Equal([]byte(want)), f)
			}
			if tt.tag == "" {
				g.Expect(c.Tag).To(BeNil())
			} else {
				g.Expect(c.Tag).NotTo(BeNil())
				g.Expect(c.Tag.Name).To(Equal(tt.tag))
				g.Expect(c.Tag.Hash != "").To(Equal(tt.tagObj))
			}

			resolved, err := ResolveRemote(ctx, fx.url, nil, tt.ref)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(resolved.Hash).To(Equal(c.Hash))
			g.Expect(resolved.Revision()).To(Equal(c.Revision()))
		})
	}
}

func TestCloneIsShallow(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	dir := t.TempDir()
	_, err := Clone(testContext(t), dir, CloneOptions{URL: fx.url, Ref: Reference{Branch: "master"}})
	g.Expect(err).NotTo(HaveOccurred())

	repo, err := gogit.PlainOpen(dir)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = repo.CommitObject(plumbing.NewHash(fx.c1))
	g.Expect(err).To(MatchError(plumbing.ErrObjectNotFound), "the parent commit must not be fetched")
	head, err := repo.Head()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(head.Name().String()).To(Equal("refs/heads/master"), "a branch is checked out as that branch")
}

func TestCloneAndResolveErrors(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		ref     Reference
		kind    Kind
		msg     string
		resolve bool // ResolveRemote must fail the same way
	}{
		{name: "missing branch", ref: Reference{Branch: "nope"}, kind: KindRefNotFound, msg: "branch 'nope' not found in remote", resolve: true},
		{name: "missing tag", ref: Reference{Tag: "v9"}, kind: KindRefNotFound, msg: "tag 'v9' not found in remote", resolve: true},
		{name: "missing ref name", ref: Reference{Name: "refs/pull/9/head"}, kind: KindRefNotFound, msg: "ref 'refs/pull/9/head' not found", resolve: true},
		{name: "no tag in semver range", ref: Reference{SemVer: ">=3.0.0"}, kind: KindNoMatchingTag, msg: "no tag in the remote matches semver range '>=3.0.0'", resolve: true},
		{name: "invalid semver range", ref: Reference{SemVer: "not a range"}, kind: KindInvalid, msg: "semver range 'not a range' is not valid", resolve: true},
		{name: "short commit", ref: Reference{Commit: "abc123"}, kind: KindInvalid, msg: "not a full 40-character SHA-1", resolve: true},
		{name: "unknown commit", ref: Reference{Commit: "0123456789012345678901234567890123456789"}, kind: KindRefNotFound, msg: "commit '0123456789012345678901234567890123456789' not found in the remote"},
		{name: "commit outside branch", ref: Reference{Commit: fx.c3, Branch: "master"}, kind: KindRefNotFound, msg: "not found in branch 'master'"},
		{name: "commit with missing branch", ref: Reference{Commit: fx.c3, Branch: "nope"}, kind: KindRefNotFound, msg: "branch 'nope' not found in remote"},
		{name: "missing repository", url: fx.srv.HTTPAddress() + "/nope.git", kind: KindRepositoryNotFound, msg: "repository '" + fx.srv.HTTPAddress() + "/nope.git' not found", resolve: true},
		{name: "scp-like url", url: "git@example.com:org/repo.git", kind: KindInvalid, msg: "not supported", resolve: true},
		{name: "ssh url without credentials", url: "ssh://git@127.0.0.1/repo.git", kind: KindInvalid, msg: "ssh:// URLs need a secretRef with 'identity' and 'known_hosts'", resolve: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			ctx := testContext(t)
			url := tt.url
			if url == "" {
				url = fx.url
			}
			_, err := Clone(ctx, t.TempDir(), CloneOptions{URL: url, Ref: tt.ref})
			g.Expect(err).To(HaveOccurred())
			g.Expect(KindOf(err)).To(Equal(tt.kind), err.Error())
			g.Expect(err.Error()).To(ContainSubstring(tt.msg))

			_, err = ResolveRemote(ctx, url, nil, tt.ref)
			if tt.resolve {
				g.Expect(KindOf(err)).To(Equal(tt.kind), "ResolveRemote: %v", err)
			}
		})
	}
}

func TestResolveRemoteCommitNeedsNoServer(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	c, err := ResolveRemote(testContext(t), "https://unreachable.invalid/repo.git", nil,
		Reference{Commit: "ABCDEF0123456789ABCDEF0123456789ABCDEF01", Branch: "main"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c.Revision()).To(Equal("main@sha1:abcdef0123456789abcdef0123456789abcdef01"))
}

func TestCloneSparseCheckout(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	dir := t.TempDir()
	c, err := Clone(testContext(t), dir, CloneOptions{
		URL: fx.url, Ref: Reference{Branch: "master"}, SparseCheckout: []string{"apps", "./infra/"},
	})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c.Hash).To(Equal(fx.c2))
	g.Expect(filepath.Join(dir, "apps", "app.yaml")).To(BeAnExistingFile())
	g.Expect(filepath.Join(dir, "infra", "infra.yaml")).To(BeAnExistingFile())
	g.Expect(filepath.Join(dir, "docs")).NotTo(BeAnExistingFile())
	g.Expect(filepath.Join(dir, "README.md")).NotTo(BeAnExistingFile())
}

func TestCloneSparseCheckoutRejectsEscapes(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	_, err := Clone(testContext(t), t.TempDir(), CloneOptions{URL: fx.url, SparseCheckout: []string{"../etc"}})
	g.Expect(KindOf(err)).To(Equal(KindInvalid))
}

func TestCloneRecurseSubmodules(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	srv := startHTTPServer(t)
	subHash, err := newServerRepo(srv, "sub.git")
	g.Expect(err).NotTo(HaveOccurred())

	r, err := newTestRepo()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(r.addSubmodule("vendor/sub", srv.HTTPAddress()+"/sub.git", subHash)).To(Succeed())
	g.Expect(r.push(filepath.Join(srv.Root(), "parent.git"), "refs/heads/*:refs/heads/*")).To(Succeed())
	url := srv.HTTPAddress() + "/parent.git"

	dir := t.TempDir()
	_, err = Clone(testContext(t), dir, CloneOptions{URL: url, RecurseSubmodules: true})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(filepath.Join(dir, "vendor", "sub", "hello.txt")).To(BeAnExistingFile())

	without := t.TempDir()
	_, err = Clone(testContext(t), without, CloneOptions{URL: url})
	g.Expect(err).NotTo(HaveOccurred())
	entries, _ := os.ReadDir(filepath.Join(without, "vendor", "sub"))
	g.Expect(entries).To(BeEmpty())
}

// TestCloneCommitByHash covers servers that let a client ask for any
// reachable commit: the commit is then fetched alone, shallowly, instead of
// the whole history.
func TestCloneCommitByHash(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	srv := startHTTPServer(t)
	r, err := newTestRepo()
	g.Expect(err).NotTo(HaveOccurred())
	first, err := r.commit(map[string]string{"a.txt": "1\n"}, "First", nil)
	g.Expect(err).NotTo(HaveOccurred())
	second, err := r.commit(map[string]string{"a.txt": "2\n"}, "Second", nil)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = r.commit(map[string]string{"a.txt": "3\n"}, "Third", nil)
	g.Expect(err).NotTo(HaveOccurred())
	bare := filepath.Join(srv.Root(), "repo.git")
	g.Expect(r.push(bare, "refs/heads/*:refs/heads/*")).To(Succeed())
	cfg, err := os.OpenFile(filepath.Join(bare, "config"), os.O_APPEND|os.O_WRONLY, 0)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = cfg.WriteString("[uploadpack]\n\tallowReachableSHA1InWant = true\n")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cfg.Close()).To(Succeed())

	dir := t.TempDir()
	c, err := Clone(testContext(t), dir, CloneOptions{URL: srv.HTTPAddress() + "/repo.git", Ref: Reference{Commit: second.String()}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c.Revision()).To(Equal("sha1:" + second.String()))
	g.Expect(os.ReadFile(filepath.Join(dir, "a.txt"))).To(Equal([]byte("2\n")))

	repo, err := gogit.PlainOpen(dir)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = repo.CommitObject(first)
	g.Expect(err).To(MatchError(plumbing.ErrObjectNotFound), "only the asked-for commit is fetched")
}
