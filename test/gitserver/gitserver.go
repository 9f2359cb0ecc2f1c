// Package gitserver runs a real smart-HTTP (and optionally SSH) Git server on
// loopback for tests, benchmarks and `make dev`, and writes commits to its
// repositories. It counts pack downloads, so a test can prove that an
// unchanged remote costs no clone.
package gitserver

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/fluxcd/pkg/gittestserver"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Server is a running Git server.
type Server struct {
	*gittestserver.GitServer
	uploads sync.Map // repo path -> *atomic.Int64
	mu      sync.Mutex
	// fault is the current Fault; requests counts requests seen under
	// Flapping, and failed those the server failed on purpose.
	fault    atomic.Int32
	requests atomic.Int64
	failed   atomic.Int64
}

// Start starts an HTTP Git server over a temporary directory. Call
// StopHTTP and os.RemoveAll(Root()) when done, or use Close.
func Start() (*Server, error) {
	// The server's HTTP layer logs every request through the standard
	// logger; tests have no use for that noise.
	log.SetOutput(io.Discard)
	gs, err := gittestserver.NewTempGitServer()
	if err != nil {
		return nil, err
	}
	s := &Server{GitServer: gs}
	gs.AddHTTPMiddlewares(s.injectFaults, s.countUploads)
	if err := gs.StartHTTP(); err != nil {
		return nil, err
	}
	return s, nil
}

// Close stops the server and removes its repositories.
func (s *Server) Close() {
	s.StopHTTP()
	_ = os.RemoveAll(s.Root())
}

// countUploads counts git-upload-pack POSTs, the request that downloads a
// pack: a clone or fetch makes one, a ref listing makes none.
func (s *Server) countUploads(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack") {
			repo := strings.TrimPrefix(strings.TrimSuffix(r.URL.Path, "/git-upload-pack"), "/")
			c, _ := s.uploads.LoadOrStore(repo, &atomic.Int64{})
			c.(*atomic.Int64).Add(1)
		}
		next.ServeHTTP(w, r)
	})
}

// Uploads returns how many packs were downloaded from repo (e.g. "org/app.git").
func (s *Server) Uploads(repo string) int64 {
	if c, ok := s.uploads.Load(repo); ok {
		return c.(*atomic.Int64).Load()
	}
	return 0
}

// URL returns the HTTP URL of repo.
func (s *Server) URL(repo string) string {
	return s.HTTPAddress() + "/" + repo
}

// Commit writes files (path -> content; empty content deletes the path) as a
// new commit on branch of repo, creating the repository and branch as needed,
// and returns the commit hash.
func (s *Server) Commit(repo, branch, message string, files map[string]string) (string, error) {
	return s.CommitSigned(repo, branch, message, files, nil)
}

// CommitSigned is Commit with the commit signed by key (unsigned when key is
// nil), for tests of signature verification.
func (s *Server) CommitSigned(repo, branch, message string, files map[string]string, key *openpgp.Entity) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bare := filepath.Join(s.Root(), repo)
	ref := plumbing.NewBranchReferenceName(branch)
	if _, err := os.Stat(bare); os.IsNotExist(err) {
		// HEAD names the first branch committed, so that `git clone` of the
		// URL checks it out (with go-git's default, master, a repository
		// holding only main clones with "remote HEAD refers to nonexistent
		// ref").
		if _, err := gogit.PlainInitWithOptions(bare, &gogit.PlainInitOptions{
			Bare: true, InitOptions: gogit.InitOptions{DefaultBranch: ref},
		}); err != nil {
			return "", err
		}
	}
	work, err := os.MkdirTemp("", "gitserver-work-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	r, err := gogit.PlainInit(work, false)
	if err != nil {
		return "", err
	}
	if _, err := r.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{bare}}); err != nil {
		return "", err
	}
	wt, err := r.Worktree()
	if err != nil {
		return "", err
	}
	if err := r.Fetch(&gogit.FetchOptions{RefSpecs: []config.RefSpec{config.RefSpec(fmt.Sprintf("+%s:%s", ref, ref))}}); err == nil {
		if err := wt.Checkout(&gogit.CheckoutOptions{Branch: ref}); err != nil {
			return "", err
		}
	} else if err := r.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, ref)); err != nil {
		return "", err
	}
	for path, content := range files {
		full := filepath.Join(work, path)
		if content == "" {
			if _, err := wt.Remove(path); err != nil {
				return "", err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			return "", err
		}
		if _, err := wt.Add(path); err != nil {
			return "", err
		}
	}
	hash, err := wt.Commit(message, &gogit.CommitOptions{
		Author:            &object.Signature{Name: "Ferry Test", Email: "test@ferry.local", When: time.Now()},
		AllowEmptyCommits: true,
		SignKey:           key,
	})
	if err != nil {
		return "", err
	}
	err = r.Push(&gogit.PushOptions{RefSpecs: []config.RefSpec{config.RefSpec(fmt.Sprintf("%s:%s", ref, ref))}})
	if err != nil {
		return "", err
	}
	return hash.String(), nil
}

// Tag points a lightweight tag at commit in repo.
func (s *Server) Tag(repo, name, commit string) error {
	r, err := gogit.PlainOpen(filepath.Join(s.Root(), repo))
	if err != nil {
		return err
	}
	return r.Storer.SetReference(plumbing.NewHashReference(plumbing.NewTagReferenceName(name), plumbing.NewHash(commit)))
}
