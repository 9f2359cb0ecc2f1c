package git

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/fluxcd/pkg/gittestserver"
	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-billy/v5/util"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
)

// fx is the shared fixture: one repository on one HTTP server, read by
// every test that does not need a special server. Its history:
//
//	c1 (master)   README.md apps/ infra/ docs/     tags v1.0.0 (light)
//	c2 (master)   signed, edits apps/              tags v1.1.0 (annotated, signed), stable (light)
//	c3 (feature)  on c1, adds feature.txt          tag 1.2.0 (annotated, unsigned)
//	c4            on c2, adds pr.txt               refs/pull/1/head, tag v2.0.0-rc.1 (light)
var fx struct {
	srv            *gittestserver.GitServer
	url            string
	c1, c2, c3, c4 string
	key, otherKey  *openpgp.Entity
	pubKey, other  string
}

func TestMain(m *testing.M) {
	// gitkit logs every request; the test output should show failures only.
	log.SetOutput(io.Discard)
	code, err := runWithFixture(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fixture:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runWithFixture(m *testing.M) (int, error) {
	var err error
	if fx.key, fx.pubKey, err = newPGPKey("Trusted Signer"); err != nil {
		return 0, err
	}
	if fx.otherKey, fx.other, err = newPGPKey("Someone Else"); err != nil {
		return 0, err
	}
	fx.srv, err = gittestserver.NewTempGitServer()
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(fx.srv.Root())
	if err := buildFixtureRepo(filepath.Join(fx.srv.Root(), "repo.git")); err != nil {
		return 0, err
	}
	if err := fx.srv.StartHTTP(); err != nil {
		return 0, err
	}
	defer fx.srv.StopHTTP()
	fx.url = fx.srv.HTTPAddress() + "/repo.git"
	return m.Run(), nil
}

func buildFixtureRepo(bare string) error {
	r, err := newTestRepo()
	if err != nil {
		return err
	}
	h1, err := r.commit(map[string]string{
		"README.md": "hello\n", "apps/app.yaml": "app: 1\n",
		"infra/infra.yaml": "infra: 1\n", "docs/readme.txt": "docs\n",
	}, "Initial commit\n\nWith a body.", nil)
	if err != nil {
		return err
	}
	h2, err := r.commit(map[string]string{"apps/app.yaml": "app: 2\n"}, "Signed change", fx.key)
	if err != nil {
		return err
	}
	if err := r.branch("feature", h1); err != nil {
		return err
	}
	h3, err := r.commit(map[string]string{"feature.txt": "feature\n"}, "Feature work", nil)
	if err != nil {
		return err
	}
	if err := r.branch("pr", h2); err != nil {
		return err
	}
	h4, err := r.commit(map[string]string{"pr.txt": "pr\n"}, "Pull request", nil)
	if err != nil {
		return err
	}
	if err := r.repo.Storer.SetReference(plumbing.NewHashReference("refs/pull/1/head", h4)); err != nil {
		return err
	}
	if err := r.repo.Storer.RemoveReference("refs/heads/pr"); err != nil {
		return err
	}
	for _, tg := range []struct {
		name string
		at   plumbing.Hash
		ann  bool
		key  *openpgp.Entity
	}{{"v1.0.0", h1, false, nil}, {"v1.1.0", h2, true, fx.key}, {"stable", h2, false, nil},
		{"1.2.0", h3, true, nil}, {"v2.0.0-rc.1", h4, false, nil}} {
		if err := r.tag(tg.name, tg.at, tg.ann, tg.key); err != nil {
			return err
		}
	}
	fx.c1, fx.c2, fx.c3, fx.c4 = h1.String(), h2.String(), h3.String(), h4.String()
	return r.push(bare, "refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*", "refs/pull/1/head:refs/pull/1/head")
}

// testRepo builds a repository in memory, to be pushed to a test server.
type testRepo struct {
	repo *gogit.Repository
	wt   *gogit.Worktree
}

var testAuthor = object.Signature{Name: "Testbot", Email: "test@example.com", When: time.Unix(1700000000, 0)}

func newTestRepo() (*testRepo, error) {
	repo, err := gogit.Init(memory.NewStorage(), memfs.New())
	if err != nil {
		return nil, err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return nil, err
	}
	return &testRepo{repo: repo, wt: wt}, nil
}

func (r *testRepo) commit(files map[string]string, msg string, key *openpgp.Entity) (plumbing.Hash, error) {
	for name, content := range files {
		if err := util.WriteFile(r.wt.Filesystem, name, []byte(content), 0o644); err != nil {
			return plumbing.ZeroHash, err
		}
		if _, err := r.wt.Add(name); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	author := testAuthor
	author.When = author.When.Add(time.Duration(len(msg)) * time.Minute)
	return r.wt.Commit(msg, &gogit.CommitOptions{Author: &author, SignKey: key})
}

// branch creates (or moves to) a branch starting at from and checks it out.
func (r *testRepo) branch(name string, from plumbing.Hash) error {
	return r.wt.Checkout(&gogit.CheckoutOptions{
		Hash: from, Branch: plumbing.NewBranchReferenceName(name), Create: true, Force: true,
	})
}

func (r *testRepo) tag(name string, at plumbing.Hash, annotated bool, key *openpgp.Entity) error {
	var opts *gogit.CreateTagOptions
	if annotated {
		opts = &gogit.CreateTagOptions{Tagger: &testAuthor, Message: "Release " + name, SignKey: key}
	}
	_, err := r.repo.CreateTag(name, at, opts)
	return err
}

// push creates the bare repository bare and pushes refspecs to it.
func (r *testRepo) push(bare string, specs ...string) error {
	if _, err := gogit.PlainInit(bare, true); err != nil {
		return err
	}
	if _, err := r.repo.CreateRemote(&config.RemoteConfig{Name: "server", URLs: []string{"file://" + bare}}); err != nil {
		return err
	}
	var refSpecs []config.RefSpec
	for _, s := range specs {
		refSpecs = append(refSpecs, config.RefSpec(s))
	}
	return r.repo.Push(&gogit.PushOptions{RemoteName: "server", RefSpecs: refSpecs})
}

// newPGPKey generates an Ed25519 key (fast, unlike RSA) and returns it with
// its armored public key ring.
func newPGPKey(name string) (*openpgp.Entity, string, error) {
	e, err := openpgp.NewEntity(name, "", "signer@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		return nil, "", err
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, "", err
	}
	if err := e.Serialize(w); err != nil {
		return nil, "", err
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return e, buf.String(), nil
}

// newServerRepo starts nothing: it puts a one-commit repository named name
// into srv's root and returns the commit.
func newServerRepo(srv *gittestserver.GitServer, name string) (string, error) {
	r, err := newTestRepo()
	if err != nil {
		return "", err
	}
	h, err := r.commit(map[string]string{"hello.txt": "hi\n"}, "Only commit", nil)
	if err != nil {
		return "", err
	}
	return h.String(), r.push(filepath.Join(srv.Root(), name), "refs/heads/*:refs/heads/*")
}

// addSubmodule records a gitlink at path pointing to hash in url, with its
// .gitmodules entry, and commits it.
func (r *testRepo) addSubmodule(path, url string, hash string) error {
	modules := fmt.Sprintf("[submodule %q]\n\tpath = %s\n\turl = %s\n", path, path, url)
	if err := util.WriteFile(r.wt.Filesystem, ".gitmodules", []byte(modules), 0o644); err != nil {
		return err
	}
	if _, err := r.wt.Add(".gitmodules"); err != nil {
		return err
	}
	idx, err := r.repo.Storer.Index()
	if err != nil {
		return err
	}
	idx.Entries = append(idx.Entries, &index.Entry{Name: path, Hash: plumbing.NewHash(hash), Mode: filemode.Submodule})
	if err := r.repo.Storer.SetIndex(idx); err != nil {
		return err
	}
	_, err = r.wt.Commit("Add submodule", &gogit.CommitOptions{Author: &testAuthor})
	return err
}

// startHTTPServer starts a private HTTP git server for one test.
func startHTTPServer(t *testing.T) *gittestserver.GitServer {
	t.Helper()
	srv, err := gittestserver.NewTempGitServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(srv.Root()) })
	if err := srv.StartHTTP(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.StopHTTP)
	return srv
}
