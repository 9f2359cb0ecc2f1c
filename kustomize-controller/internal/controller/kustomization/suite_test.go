package kustomization

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	policyv1 "github.com/ferrycd/ferry/pkg/apis/policy/v1alpha1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/artifact/archive"
	"github.com/ferrycd/ferry/pkg/artifact/fetch"
	"github.com/ferrycd/ferry/pkg/kubeclient"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/suite"
)

var (
	env       *cluster.Cluster
	artifacts *artifactServer
	// reconciler is the one the manager runs; the benchmarks call it
	// directly.
	reconciler *Reconciler
)

// TestMain starts one full-mode cluster (Deployments become Available), an
// artifact server standing in for the source-controller, and the reconciler.
func TestMain(m *testing.M) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(sourcev1.AddToScheme(scheme))
	utilruntime.Must(kustomizev1.AddToScheme(scheme))
	utilruntime.Must(policyv1.AddToScheme(scheme))
	utilruntime.Must(helmv2.AddToScheme(scheme))
	opts := suite.Options{
		Mode:       cluster.Full,
		Scheme:     scheme,
		Controller: "kustomize-controller",
		// As in the controller binaries (the API server has priority and
		// fairness), no client-side rate limit.
		NoRateLimit: true,
		// Every request the reconciler makes is counted (TestRequestBudget).
		WrapTransport: requests.Wrap,
	}
	os.Exit(suite.Run(m, opts, func(e *suite.Env) error {
		env = e.Cluster
		artifacts = newArtifactServer()
		e.Cleanup(artifacts.Close)
		cache, err := os.MkdirTemp("", "kustomization-cache-")
		if err != nil {
			return err
		}
		e.Cleanup(func() { _ = os.RemoveAll(cache) })
		fetcher, err := fetch.New(cache)
		if err != nil {
			return err
		}
		mgr := e.Manager
		r := &Reconciler{
			Client:     mgr.GetClient(),
			Finisher:   outcome.Finisher{Scheme: scheme, Recorder: e.Recorder, OwnedConditions: OwnedConditions},
			Fetcher:    fetcher,
			Clients:    kubeclient.NewFactory(mgr.GetConfig(), scheme, mgr.GetRESTMapper()),
			Concurrent: 4,
		}
		reconciler = r
		return r.SetupWithManager(e.Ctx, mgr)
	}))
}

// artifactServer serves tar.gz artifacts built from in-memory trees, the
// way the source-controller serves them.
type artifactServer struct {
	*httptest.Server
	mu    sync.Mutex
	files map[string][]byte
}

func newArtifactServer() *artifactServer {
	a := &artifactServer{files: map[string][]byte{}}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		data, ok := a.files[r.URL.Path]
		a.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(data)
	}))
	return a
}

// Publish archives files (path -> content) and returns the artifact that
// serves them, with revision rev.
func (a *artifactServer) Publish(rev string, files map[string]string) (*fluxmeta.Artifact, error) {
	dir, err := os.MkdirTemp("", "artifact-src-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if err := archive.Build(&buf, dir, nil); err != nil {
		return nil, err
	}
	sum := fmt.Sprintf("%x", sha256.Sum256(buf.Bytes()))
	path := "/" + sum + ".tar.gz"
	a.mu.Lock()
	a.files[path] = buf.Bytes()
	a.mu.Unlock()
	size := int64(buf.Len())
	return &fluxmeta.Artifact{
		Path: path, URL: a.URL + path, Revision: rev, Digest: "sha256:" + sum,
		LastUpdateTime: nowTime(), Size: &size,
	}, nil
}

var _ = time.Second
