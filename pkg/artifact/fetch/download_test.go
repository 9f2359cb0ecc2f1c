package fetch

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

func TestFetchRetries(t *testing.T) {
	a := makeArtifact(t, map[string]string{"a.yaml": "a"})
	tests := []struct {
		name         string
		failures     int64 // requests answered with status before success
		status       int
		retries      int
		wantRequests int64
		wantStatus   int // 0: success
	}{
		{"503 then success", 2, http.StatusServiceUnavailable, 3, 3, 0},
		{"500 then success", 1, http.StatusInternalServerError, 3, 2, 0},
		{"429 then success", 1, http.StatusTooManyRequests, 3, 2, 0},
		{"retries used up", 10, http.StatusServiceUnavailable, 2, 3, http.StatusServiceUnavailable},
		{"retries disabled", 10, http.StatusBadGateway, 0, 1, http.StatusBadGateway},
		{"403 is not retried", 10, http.StatusForbidden, 3, 1, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			srv := newServer(t)
			url := srv.publish("/a.tar.gz", a.body)
			srv.respond = func(w http.ResponseWriter, _ *http.Request, n int64) bool {
				if n <= tt.failures {
					w.WriteHeader(tt.status)
					return true
				}
				return false
			}
			f, _ := newFetcher(t, WithRetries(tt.retries))

			dir, err := f.Fetch(context.Background(), url, a.digest)
			g.Expect(srv.requests.Load()).To(Equal(tt.wantRequests))
			if tt.wantStatus == 0 {
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(filepath.Join(dir, "a.yaml")).To(BeAnExistingFile())
				return
			}
			var dlErr *DownloadError
			g.Expect(errors.As(err, &dlErr)).To(BeTrue(), "%v", err)
			g.Expect(dlErr.StatusCode).To(Equal(tt.wantStatus))
			g.Expect(IsNotFound(err)).To(BeFalse())
		})
	}
}

func TestFetchNetworkError(t *testing.T) {
	g := NewWithT(t)
	srv := newServer(t)
	url := srv.URL + "/a.tar.gz"
	srv.Close()
	f, _ := newFetcher(t, WithRetries(1))
	a := makeArtifact(t, map[string]string{"a": "a"})

	_, err := f.Fetch(context.Background(), url, a.digest)
	var dlErr *DownloadError
	g.Expect(errors.As(err, &dlErr)).To(BeTrue(), "%v", err)
	g.Expect(dlErr.StatusCode).To(BeZero())
	g.Expect(dlErr.Err).To(HaveOccurred())
	g.Expect(IsNotFound(err)).To(BeFalse())
	g.Expect(IsDigestMismatch(err)).To(BeFalse())
}

func TestFetchSizeCap(t *testing.T) {
	big := strings.Repeat("x", 4096) // compresses to far less than it extracts to
	a := makeArtifact(t, map[string]string{"big.yaml": big})
	tests := []struct {
		name    string
		maxSize int64
		chunked bool
		wantErr bool
	}{
		{"fits", 8192, false, false},
		{"download over the cap, length known", int64(len(a.body)) - 1, false, true},
		{"download over the cap, chunked", int64(len(a.body)) - 1, true, true},
		{"extracted over the cap", int64(len(a.body)) + 1, false, true},
		{"unlimited", -1, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			srv := newServer(t)
			srv.respond = func(w http.ResponseWriter, _ *http.Request, _ int64) bool {
				if tt.chunked {
					w.(http.Flusher).Flush() // no Content-Length
				}
				_, _ = w.Write(a.body)
				return true
			}
			f, cacheDir := newFetcher(t, WithMaxSize(tt.maxSize))
			_, err := f.Fetch(context.Background(), srv.URL+"/big.tar.gz", a.digest)
			if !tt.wantErr {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(MatchError(ErrTooLarge))
			g.Expect(cacheEntries(t, cacheDir)).To(BeEmpty())
		})
	}
}
