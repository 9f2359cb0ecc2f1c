package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
)

// fixture lays out a storage directory next to a secret that must stay unreachable,
// and returns the storage directory.
func fixture(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	base := filepath.Join(root, "data")
	files := map[string]string{
		filepath.Join(root, "secret.txt"):                                  "top secret",
		filepath.Join(base, "gitrepository", "default", "app", "a.tar.gz"): "archive bytes",
		filepath.Join(base, "helmchart", "ns", "c", "c-1.0.0.tgz"):         "0123456789",
	}
	for p, body := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(root, "secret.txt"), filepath.Join(base, "link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(root, filepath.Join(base, "up")); err != nil {
		t.Fatal(err)
	}
	return base
}

func TestHandler(t *testing.T) {
	h := Handler(fixture(t))
	tests := []struct {
		name     string
		method   string
		path     string
		header   http.Header
		wantCode int
		wantBody string
	}{
		{"file", http.MethodGet, "/gitrepository/default/app/a.tar.gz", nil, http.StatusOK, "archive bytes"},
		{"head", http.MethodHead, "/gitrepository/default/app/a.tar.gz", nil, http.StatusOK, ""},
		{"range", http.MethodGet, "/helmchart/ns/c/c-1.0.0.tgz", http.Header{"Range": {"bytes=2-4"}}, http.StatusPartialContent, "234"},
		{"missing file", http.MethodGet, "/gitrepository/default/app/b.tar.gz", nil, http.StatusNotFound, ""},
		{"root", http.MethodGet, "/", nil, http.StatusNotFound, ""},
		{"directory", http.MethodGet, "/gitrepository/", nil, http.StatusNotFound, ""},
		{"directory without slash", http.MethodGet, "/gitrepository/default/app", nil, http.StatusNotFound, ""},
		{"parent traversal", http.MethodGet, "/../secret.txt", nil, http.StatusNotFound, ""},
		{"nested traversal", http.MethodGet, "/gitrepository/../../secret.txt", nil, http.StatusNotFound, ""},
		{"relative path", http.MethodGet, "../secret.txt", nil, http.StatusNotFound, ""},
		{"symlink to outside file", http.MethodGet, "/link.txt", nil, http.StatusNotFound, ""},
		{"symlink to outside dir", http.MethodGet, "/up/secret.txt", nil, http.StatusNotFound, ""},
		{"post", http.MethodPost, "/gitrepository/default/app/a.tar.gz", nil, http.StatusMethodNotAllowed, ""},
		{"delete", http.MethodDelete, "/gitrepository/default/app/a.tar.gz", nil, http.StatusMethodNotAllowed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			req := httptest.NewRequest(tt.method, "/", nil)
			req.URL.Path = tt.path // set after parsing so that nothing cleans it first
			for k, v := range tt.header {
				req.Header[k] = v
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			g.Expect(rec.Code).To(Equal(tt.wantCode))
			if tt.wantBody != "" {
				g.Expect(rec.Body.String()).To(Equal(tt.wantBody))
			}
			g.Expect(rec.Body.String()).NotTo(ContainSubstring("top secret"))
			if tt.method == http.MethodHead {
				g.Expect(rec.Header().Get("Content-Length")).To(Equal("13"))
			}
		})
	}
}

func TestHandlerOverTheWire(t *testing.T) {
	g := NewWithT(t)
	srv := httptest.NewServer(Handler(fixture(t)))
	defer srv.Close()

	for path, want := range map[string]int{
		"/gitrepository/default/app/a.tar.gz":       http.StatusOK,
		"/%2e%2e/secret.txt":                        http.StatusNotFound,
		"/gitrepository/..%2f..%2fsecret.txt":       http.StatusNotFound,
		"/gitrepository/default/app/%00a.tar.gz":    http.StatusNotFound,
		"/gitrepository/default/app/a.tar.gz/../..": http.StatusNotFound,
	} {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		g.Expect(err).NotTo(HaveOccurred())
		_, err = io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		g.Expect(err).NotTo(HaveOccurred())
		raw, err := io.ReadAll(conn)
		conn.Close()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(string(raw)).To(HavePrefix("HTTP/1.1 %d", want), path)
		g.Expect(string(raw)).NotTo(ContainSubstring("top secret"), path)
	}
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestServerStartAndShutdown(t *testing.T) {
	g := NewWithT(t)
	s := &Server{Addr: freeAddr(t), BasePath: fixture(t)}
	g.Expect(s.NeedLeaderElection()).To(BeFalse())

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()

	url := "http://" + s.Addr + "/gitrepository/default/app/a.tar.gz"
	g.Eventually(func(g Gomega) {
		resp, err := http.Get(url)
		g.Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
		g.Expect(string(body)).To(Equal("archive bytes"))
	}).Should(Succeed())

	cancel()
	g.Eventually(done).Should(Receive(BeNil()))
	_, err := http.Get(url)
	g.Expect(err).To(HaveOccurred(), "the listener is closed after shutdown")
}

func TestServerListenError(t *testing.T) {
	g := NewWithT(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	defer ln.Close()

	s := &Server{Addr: ln.Addr().String(), BasePath: t.TempDir()}
	err = s.Start(context.Background())
	g.Expect(err).To(MatchError(ContainSubstring("failed to listen")))
}
