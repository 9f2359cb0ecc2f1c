package helmchart

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/source-controller/internal/helm/helmtest"
	"github.com/ferrycd/ferry/test/suite"
)

// BenchmarkHelmChartsReady creates b.N HelmCharts of one chart version from
// one HelmRepository at once, as b.N HelmReleases with spec.chart make them,
// and reports the time until all are Ready and the API server's own request
// counts per HelmChart (apiserver_request_total by verb and resource, which
// include the benchmark's one create of each). Run it alone, so that no
// test's requests are counted:
//
//	go test -run '^$' -bench HelmChartsReady -benchtime 1000x ./internal/controller/helmchart/
func BenchmarkHelmChartsReady(b *testing.B) {
	repo := helmtest.NewRepository(b, false)
	repo.Publish(b, helmtest.NewChart("app", "1.0.0", map[string]any{"replicas": 1}, nil))
	ns := suite.NewNamespace(b, env.Client, "bench-")
	src := newHelmRepository(ns, "charts", repo.URL)
	if err := env.Client.Create(context.Background(), src); err != nil {
		b.Fatal(err)
	}
	waitSourceReady(b, src)
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = -1, -1
	c, err := client.New(cfg, client.Options{Scheme: env.Client.Scheme()})
	if err != nil {
		b.Fatal(err)
	}
	allReady := watchReady(b, ns, b.N)
	before := apiRequests(b)

	b.ResetTimer()
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range jobs {
				obj := newHelmChart(ns, fmt.Sprintf("app-%d", i), "app", sourcev1.HelmRepositoryKind, "charts",
					func(o *sourcev1.HelmChart) { o.Spec.Version = "1.0.0" })
				if err := c.Create(context.Background(), obj); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := range b.N {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	select {
	case <-allReady:
	case <-time.After(10 * time.Minute):
		b.Fatalf("not all of %d HelmCharts Ready after 10 minutes", b.N)
	}
	b.StopTimer()

	after := apiRequests(b)
	for key, n := range after {
		if d := n - before[key]; d > 0 {
			b.ReportMetric(d/float64(b.N), key+"/chart")
		}
	}
	b.ReportMetric(float64(repo.ChartDownloads()), "chart-downloads")
}

// watchReady returns a channel closed once n HelmCharts in ns are Ready
// with an artifact, as the manager's cache sees them: no polling, so the
// benchmark adds no requests and no delay of its own.
func watchReady(b *testing.B, ns string, n int) <-chan struct{} {
	b.Helper()
	inf, err := mgr.GetCache().GetInformer(context.Background(), &sourcev1.HelmChart{})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	var mu sync.Mutex
	ready := map[string]bool{}
	seen := func(o any) {
		obj, ok := o.(*sourcev1.HelmChart)
		if !ok || obj.Namespace != ns || !conditions.IsReady(obj) || obj.Status.Artifact == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if !ready[obj.Name] {
			ready[obj.Name] = true
			if len(ready) == n {
				close(done)
			}
		}
	}
	reg, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    seen,
		UpdateFunc: func(_, o any) { seen(o) },
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = inf.RemoveEventHandler(reg) })
	return done
}

// countedResources are the resources whose requests the benchmark reports.
var countedResources = map[string]bool{"helmcharts": true, "helmrepositories": true, "events": true, "secrets": true}

// apiRequests reads the API server's apiserver_request_total for the
// counted resources, keyed by "<verb>-<resource>[.<subresource>]".
func apiRequests(b *testing.B) map[string]float64 {
	b.Helper()
	hc, err := rest.HTTPClientFor(env.Config)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := hc.Get(strings.TrimSuffix(env.Config.Host, "/") + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET /metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "apiserver_request_total{")
		if !ok {
			continue
		}
		labels, value, _ := strings.Cut(line, "} ")
		l := map[string]string{}
		for _, kv := range strings.Split(labels, ",") {
			k, v, _ := strings.Cut(kv, "=")
			l[k] = strings.Trim(v, `"`)
		}
		if !countedResources[l["resource"]] {
			continue
		}
		key := l["verb"] + "-" + l["resource"]
		if l["subresource"] != "" {
			key += "." + l["subresource"]
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			b.Fatal(err)
		}
		out[key] += v
	}
	return out
}
