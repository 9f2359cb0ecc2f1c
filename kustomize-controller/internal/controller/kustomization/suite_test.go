package kustomization

import (
	"bytes"
	"context"
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
	"github.com/fluxcd/pkg/runtime/events"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/artifact/archive"
	"github.com/ferrycd/ferry/pkg/artifact/fetch"
	"github.com/ferrycd/ferry/pkg/kubeclient"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/test/cluster"
)

var (
	env       *cluster.Cluster
	artifacts *artifactServer
)

func TestMain(m *testing.M) {
	code, err := runSuite(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

// runSuite starts one full-mode cluster (Deployments become Available), an
// artifact server standing in for the source-controller, and the reconciler.
func runSuite(m *testing.M) (int, error) {
	if os.Getenv("TEST_LOG") != "" {
		ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true)))
	}
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(sourcev1.AddToScheme(scheme))
	utilruntime.Must(kustomizev1.AddToScheme(scheme))

	var err error
	env, err = cluster.Start(cluster.Options{Mode: cluster.Full, Scheme: scheme})
	if err != nil {
		return 0, err
	}
	defer func() { _ = env.Stop() }()
	artifacts = newArtifactServer()
	defer artifacts.Close()

	cache, err := os.MkdirTemp("", "kustomization-cache-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(cache)
	fetcher, err := fetch.New(cache)
	if err != nil {
		return 0, err
	}
	// As in the controller binaries (the API server has priority and
	// fairness), no client-side rate limit.
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = -1, -1
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		return 0, err
	}
	recorder, err := events.NewRecorder(ctrl.Log, "", "kustomize-controller", events.WithManager(mgr))
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &Reconciler{
		Client:     mgr.GetClient(),
		Finisher:   outcome.Finisher{Scheme: scheme, Recorder: recorder, OwnedConditions: OwnedConditions},
		Fetcher:    fetcher,
		Clients:    kubeclient.NewFactory(mgr.GetConfig(), scheme, mgr.GetRESTMapper()),
		Concurrent: 4,
	}
	if err := r.SetupWithManager(ctx, mgr); err != nil {
		return 0, err
	}
	go func() {
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	}()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		return 0, fmt.Errorf("cache did not sync")
	}
	return m.Run(), nil
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
