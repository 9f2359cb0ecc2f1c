package fetch

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// artifact is a tar.gz served by the test server, with its digest.
type artifact struct {
	body   []byte
	digest string
}

// makeArtifact packs files (name -> content) into a tar.gz.
func makeArtifact(t *testing.T, files map[string]string) artifact {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return artifact{body: buf.Bytes(), digest: digestOf(buf.Bytes())}
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// server serves artifacts by path and counts requests. respond, if set, can answer
// instead of the default (return true when it did).
type server struct {
	*httptest.Server
	mu        sync.Mutex
	artifacts map[string][]byte
	requests  atomic.Int64
	respond   func(w http.ResponseWriter, r *http.Request, n int64) bool
}

func newServer(t *testing.T) *server {
	t.Helper()
	s := &server{artifacts: map[string][]byte{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.requests.Add(1)
		if s.respond != nil && s.respond(w, r, n) {
			return
		}
		s.mu.Lock()
		body, ok := s.artifacts[r.URL.Path]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

// publish serves body at path and returns its URL.
func (s *server) publish(path string, body []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.artifacts[path] = body
	return s.URL + path
}

// newFetcher returns a Fetcher with fast retries in a fresh cache directory.
func newFetcher(t *testing.T, opts ...Option) (*Fetcher, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "cache")
	f, err := New(dir, append([]Option{WithBackoff(time.Millisecond, 5*time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return f, dir
}

// cacheEntries lists the cache directory.
func cacheEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestFetchExtractsAndCaches(t *testing.T) {
	g := NewWithT(t)
	srv := newServer(t)
	a := makeArtifact(t, map[string]string{"app.yaml": "kind: Deployment\n", "sub/cm.yaml": "kind: ConfigMap\n"})
	url := srv.publish("/gitrepository/default/app/1.tar.gz", a.body)
	f, cacheDir := newFetcher(t)

	dir, err := f.Fetch(context.Background(), url, a.digest)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(dir).To(Equal(filepath.Join(cacheDir, strings.TrimPrefix(a.digest, "sha256:"))))
	g.Expect(os.ReadFile(filepath.Join(dir, "app.yaml"))).To(BeEquivalentTo("kind: Deployment\n"))
	g.Expect(os.ReadFile(filepath.Join(dir, "sub", "cm.yaml"))).To(BeEquivalentTo("kind: ConfigMap\n"))
	g.Expect(srv.requests.Load()).To(BeEquivalentTo(1))
	g.Expect(cacheEntries(t, cacheDir)).To(Equal([]string{filepath.Base(dir)}), "no temporary files left")

	// A hit makes no request, whatever the URL.
	again, err := f.Fetch(context.Background(), srv.URL+"/moved.tar.gz", a.digest)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again).To(Equal(dir))
	g.Expect(srv.requests.Load()).To(BeEquivalentTo(1))

	// The cache survives a restart.
	srv.Close()
	restarted, err := New(cacheDir)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = restarted.Fetch(context.Background(), url, "SHA256:"+a.digest[7:])
	g.Expect(err).To(HaveOccurred(), "algorithm names are case-sensitive")
	again, err = restarted.Fetch(context.Background(), url, "sha256:"+strings.ToUpper(a.digest[7:]))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again).To(Equal(dir))
}

func TestFetchDigestMismatch(t *testing.T) {
	g := NewWithT(t)
	srv := newServer(t)
	a := makeArtifact(t, map[string]string{"a.yaml": "a"})
	other := digestOf([]byte("something else"))
	url := srv.publish("/a.tar.gz", a.body)
	f, cacheDir := newFetcher(t)

	_, err := f.Fetch(context.Background(), url, other)
	g.Expect(err).To(HaveOccurred())
	g.Expect(IsDigestMismatch(err)).To(BeTrue())
	g.Expect(IsNotFound(err)).To(BeFalse())
	var mismatch *DigestMismatchError
	g.Expect(errors.As(err, &mismatch)).To(BeTrue())
	g.Expect(mismatch.Expected).To(Equal(other))
	g.Expect(mismatch.Actual).To(Equal(a.digest))
	g.Expect(err.Error()).To(ContainSubstring("corrupt or changed"))
	g.Expect(err.Error()).To(ContainSubstring(other))
	g.Expect(err.Error()).To(ContainSubstring(a.digest))
	g.Expect(cacheEntries(t, cacheDir)).To(BeEmpty())
	g.Expect(srv.requests.Load()).To(BeEquivalentTo(1), "a mismatch is not retried")
}

func TestFetchNotFound(t *testing.T) {
	for _, code := range []int{http.StatusNotFound, http.StatusGone} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			g := NewWithT(t)
			srv := newServer(t)
			srv.respond = func(w http.ResponseWriter, _ *http.Request, _ int64) bool {
				w.WriteHeader(code)
				return true
			}
			f, cacheDir := newFetcher(t)
			a := makeArtifact(t, map[string]string{"a": "a"})

			_, err := f.Fetch(context.Background(), srv.URL+"/gone.tar.gz", a.digest)
			g.Expect(IsNotFound(err)).To(BeTrue(), "%v", err)
			g.Expect(err.Error()).To(ContainSubstring("/gone.tar.gz"))
			g.Expect(srv.requests.Load()).To(BeEquivalentTo(1), "404 is not retried")
			g.Expect(cacheEntries(t, cacheDir)).To(BeEmpty())
		})
	}
}

func TestFetchConcurrentSameDigestDownloadsOnce(t *testing.T) {
	g := NewWithT(t)
	srv := newServer(t)
	a := makeArtifact(t, map[string]string{"a.yaml": "a"})
	url := srv.publish("/a.tar.gz", a.body)
	release := make(chan struct{})
	srv.respond = func(http.ResponseWriter, *http.Request, int64) bool {
		<-release // hold the download so that the other callers pile up behind it
		return false
	}
	f, _ := newFetcher(t)

	const callers = 20
	var wg sync.WaitGroup
	dirs := make([]string, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dirs[i], errs[i] = f.Fetch(context.Background(), url, a.digest)
		}()
	}
	g.Eventually(srv.requests.Load).Should(BeEquivalentTo(1))
	close(release)
	wg.Wait()

	for i := range callers {
		g.Expect(errs[i]).NotTo(HaveOccurred())
		g.Expect(dirs[i]).To(Equal(dirs[0]))
	}
	g.Expect(srv.requests.Load()).To(BeEquivalentTo(1))
}

func TestFetchRejectsBadInput(t *testing.T) {
	srv := newServer(t)
	good := makeArtifact(t, map[string]string{"a": "a"})
	url := srv.publish("/a.tar.gz", good.body)
	tests := []struct {
		name, url, digest, want string
	}{
		{"empty digest", url, "", "invalid artifact digest"},
		{"no algorithm", url, strings.TrimPrefix(good.digest, "sha256:"), "invalid artifact digest"},
		{"unknown algorithm", url, "md5:d41d8cd98f00b204e9800998ecf8427e", "invalid artifact digest"},
		{"not hex", url, "sha256:" + strings.Repeat("z", 64), "malformed"},
		{"short", url, "sha256:abcd", "malformed"},
		{"path in digest", url, "sha256:../../../../etc", "malformed"},
		{"wrong length for algorithm", url, "sha512:" + strings.TrimPrefix(good.digest, "sha256:"), "malformed"},
		{"bad URL", "://nope", good.digest, "invalid artifact URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			f, _ := newFetcher(t)
			before := srv.requests.Load()
			_, err := f.Fetch(context.Background(), tt.url, tt.digest)
			g.Expect(err).To(MatchError(ContainSubstring(tt.want)))
			g.Expect(srv.requests.Load()).To(Equal(before))
		})
	}
}

func TestFetchUnsafeArchiveIsNotCached(t *testing.T) {
	g := NewWithT(t)
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	g.Expect(tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "evil", Linkname: "/etc/passwd"})).To(Succeed())
	g.Expect(tw.Close()).To(Succeed())
	g.Expect(gz.Close()).To(Succeed())

	srv := newServer(t)
	url := srv.publish("/evil.tar.gz", buf.Bytes())
	f, cacheDir := newFetcher(t)
	_, err := f.Fetch(context.Background(), url, digestOf(buf.Bytes()))
	g.Expect(err).To(MatchError(ContainSubstring(`"evil"`)))
	g.Expect(err).To(MatchError(ContainSubstring("symlink")))
	g.Expect(cacheEntries(t, cacheDir)).To(BeEmpty())
}

func TestFetchCanceledContext(t *testing.T) {
	g := NewWithT(t)
	srv := newServer(t)
	a := makeArtifact(t, map[string]string{"a": "a"})
	url := srv.publish("/a.tar.gz", a.body)
	f, _ := newFetcher(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.Fetch(ctx, url, a.digest)
	g.Expect(err).To(MatchError(context.Canceled))
	g.Expect(srv.requests.Load()).To(BeZero())
}
