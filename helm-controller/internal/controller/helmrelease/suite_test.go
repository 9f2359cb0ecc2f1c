package helmrelease

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

	"github.com/ferrycd/ferry/helm-controller/internal/action"
)

var (
	env    *cluster.Cluster
	charts *chartServer
	// reconciler is the running reconciler, for tests that build Helm
	// configurations the way it does.
	reconciler *Reconciler
	// requests counts what the manager sends to the API server.
	requests = suite.NewRequests()
)

// TestMain starts one fast-mode cluster (Helm releases here hold only
// ConfigMaps, and the tests play kubelet for test hook Pods), a chart
// server standing in for the source-controller, and the reconciler.
func TestMain(m *testing.M) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(sourcev1.AddToScheme(scheme))
	utilruntime.Must(helmv2.AddToScheme(scheme))
	utilruntime.Must(policyv1.AddToScheme(scheme))
	utilruntime.Must(kustomizev1.AddToScheme(scheme))
	opts := suite.Options{
		Mode:       cluster.Fast,
		Scheme:     scheme,
		Controller: "helm-controller",
		// As in the controller binaries (the API server has priority and
		// fairness), no client-side rate limit.
		NoRateLimit:   true,
		WrapTransport: requests.Wrap,
	}
	os.Exit(suite.Run(m, opts, func(e *suite.Env) error {
		env = e.Cluster
		charts = newChartServer()
		e.Cleanup(charts.Close)
		cache, err := os.MkdirTemp("", "helmrelease-cache-")
		if err != nil {
			return err
		}
		e.Cleanup(func() { _ = os.RemoveAll(cache) })
		fetcher, err := fetch.New(cache)
		if err != nil {
			return err
		}
		mgr := e.Manager
		configs, err := action.NewLocalConfigs(e.Ctx, mgr)
		if err != nil {
			return err
		}
		reconciler = &Reconciler{
			Client: mgr.GetClient(),
			Finisher: outcome.Finisher{Scheme: scheme, Recorder: e.Recorder, OwnedConditions: OwnedConditions,
				FieldOwner: "helm-controller", Quiet: outcome.NewQuietWaits(quietWait)},
			Fetcher:           fetcher,
			Clients:           kubeclient.NewFactory(mgr.GetConfig(), scheme, mgr.GetRESTMapper()),
			Configs:           configs,
			Concurrent:        4,
			DependencyRequeue: time.Second,
			// Longer than any test's wait: a HelmRelease waiting for its
			// chart goes on only when the watch wakes it.
			ArtifactRequeue: time.Hour,
		}
		return reconciler.SetupWithManager(e.Ctx, mgr)
	}))
}

// chartServer serves packaged charts, the way the source-controller
// serves HelmChart artifacts.
type chartServer struct {
	*httptest.Server
	mu    sync.Mutex
	files map[string][]byte
}

func newChartServer() *chartServer {
	c := &chartServer{files: map[string][]byte{}}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		data, ok := c.files[r.URL.Path]
		c.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(data)
	}))
	return c
}

// Publish packages a chart named name at version with the given templates
// (file name -> content; names under crds/ are the chart's CRDs) and returns the artifact serving it.
func (c *chartServer) Publish(name, version string, templates map[string]string) (*fluxmeta.Artifact, error) {
	dir, err := os.MkdirTemp("", "chart-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path, err := chartutil.Save(newChart(name, version, templates), dir)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	a := c.serve(filepath.Base(path), data)
	a.Revision = version
	return a, nil
}

// PublishTree serves the chart as a tar.gz of its directory, Chart.yaml at
// the root, the way an ArtifactGenerator stores a chart copied from Git.
func (c *chartServer) PublishTree(name, version string, templates map[string]string) (*fluxmeta.Artifact, error) {
	dir, err := os.MkdirTemp("", "chart-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := chartutil.SaveDir(newChart(name, version, templates), dir); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := archive.Build(&buf, filepath.Join(dir, name), nil); err != nil {
		return nil, err
	}
	a := c.serve(name+".tar.gz", buf.Bytes())
	a.Revision = "latest@" + a.Digest
	return a, nil
}

func newChart(name, version string, templates map[string]string) *chart.Chart {
	chrt := &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: name, Version: version, AppVersion: "v" + version},
		Values:   map[string]any{"greeting": "hello"},
		Raw:      []*chart.File{{Name: chartutil.ValuesfileName, Data: []byte("greeting: hello\n")}},
	}
	for f, content := range templates {
		if strings.HasPrefix(f, "crds/") {
			chrt.Files = append(chrt.Files, &chart.File{Name: f, Data: []byte(content)})
			continue
		}
		chrt.Templates = append(chrt.Templates, &chart.File{Name: "templates/" + f, Data: []byte(content)})
	}
	return chrt
}

// serve publishes data under its digest and returns its artifact; the
// caller sets the revision.
func (c *chartServer) serve(file string, data []byte) *fluxmeta.Artifact {
	sum := fmt.Sprintf("%x", sha256.Sum256(data))
	urlPath := "/" + sum + "/" + file
	c.mu.Lock()
	c.files[urlPath] = data
	c.mu.Unlock()
	size := int64(len(data))
	return &fluxmeta.Artifact{
		Path: urlPath, URL: c.URL + urlPath, Digest: "sha256:" + sum,
		LastUpdateTime: metav1.Now(), Size: &size,
	}
}
