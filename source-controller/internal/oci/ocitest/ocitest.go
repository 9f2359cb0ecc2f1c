// Package ocitest runs an OCI registry on loopback (go-containerregistry's
// in-process registry) for the source-controller's tests, pushes artifacts
// to it, and counts manifest and blob downloads so a test can prove an
// unchanged artifact costs no pull.
package ocitest

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Registry is a running registry.
type Registry struct {
	*httptest.Server

	mu       sync.Mutex
	username string
	password string
	blobGets map[string]int
	manGets  map[string]int
}

// New starts a registry; it is stopped when the test ends.
func New(t testing.TB) *Registry {
	r := &Registry{blobGets: map[string]int{}, manGets: map[string]int{}}
	handler := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		user, pass := r.username, r.password
		r.mu.Unlock()
		if user != "" {
			if u, p, ok := req.BasicAuth(); !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
		}
		if req.Method == http.MethodGet {
			r.count(req.URL.Path)
		}
		handler.ServeHTTP(w, req)
	}))
	t.Cleanup(r.Close)
	return r
}

// count records a GET of a manifest or blob under its repository.
func (r *Registry) count(p string) {
	p = strings.TrimPrefix(p, "/v2/")
	r.mu.Lock()
	defer r.mu.Unlock()
	if i := strings.LastIndex(p, "/manifests/"); i >= 0 {
		r.manGets[p[:i]]++
	}
	if i := strings.LastIndex(p, "/blobs/"); i >= 0 {
		r.blobGets[p[:i]]++
	}
}

// RequireAuth makes every request need basic auth.
func (r *Registry) RequireAuth(username, password string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.username, r.password = username, password
}

// Host returns the registry's host:port.
func (r *Registry) Host() string {
	return strings.TrimPrefix(r.URL, "http://")
}

// BlobGets returns how many blobs were downloaded from repo.
func (r *Registry) BlobGets(repo string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.blobGets[repo]
}

// ManifestGets returns how many manifests were downloaded (GET, not HEAD)
// from repo.
func (r *Registry) ManifestGets(repo string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.manGets[repo]
}

// Layer is one layer to push.
type Layer struct {
	MediaType string
	Data      []byte
}

// Push pushes an OCI artifact with configMediaType and layers to repo:tag
// and returns its manifest digest.
func (r *Registry) Push(t testing.TB, repo, tag, configMediaType string, layers ...Layer) string {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.MediaType(configMediaType))
	for _, l := range layers {
		var err error
		img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(l.Data, types.MediaType(l.MediaType))})
		if err != nil {
			t.Fatal(err)
		}
	}
	ref, err := name.ParseReference(r.Host() + "/" + repo + ":" + tag)
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	auth := authn.AuthConfig{Username: r.username, Password: r.password}
	r.mu.Unlock()
	if err := remote.Write(ref, img, remote.WithAuth(authn.FromConfig(auth))); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}
