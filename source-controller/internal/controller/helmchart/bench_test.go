package helmchart

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

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
					func(o *sourcev1.HelmChart) {
						o.Spec.Version = "1.0.0"
						// As the helm-controller creates them.
						o.Finalizers = []string{sourcev1.SourceFinalizer}
					})
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

	for name, mean := range meanSeconds(b, "helmchart", "controller_runtime_reconcile_time_seconds", "workqueue_queue_duration_seconds") {
		b.ReportMetric(mean*1000, name+"-mean-ms")
	}
	after := apiRequests(b)
	for key, n := range after[requestTotal] {
		if d := n - before[requestTotal][key]; d > 0 {
			b.ReportMetric(d/float64(b.N), key+"/chart")
			sum := after[requestSeconds+"_sum"][key] - before[requestSeconds+"_sum"][key]
			b.ReportMetric(sum/d*1000, key+"-mean-ms")
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

// meanSeconds returns the mean of each named histogram of controller
// in the process's controller-runtime metrics (since the process started),
// to tell time spent reconciling from time spent waiting for a worker.
func meanSeconds(b *testing.B, controller string, names ...string) map[string]float64 {
	b.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		b.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if !slices.Contains(names, f.GetName()) {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if (l.GetName() == "controller" || l.GetName() == "name") && l.GetValue() == controller {
					if h := m.GetHistogram(); h.GetSampleCount() > 0 {
						out[f.GetName()] = h.GetSampleSum() / float64(h.GetSampleCount())
					}
				}
			}
		}
	}
	return out
}

// countedResources are the resources whose requests the benchmark reports.
var countedResources = map[string]bool{"helmcharts": true, "helmrepositories": true, "events": true, "secrets": true}

const (
	requestTotal   = "apiserver_request_total"
	requestSeconds = "apiserver_request_duration_seconds"
)

// apiRequests reads the API server's request counts (apiserver_request_total)
// and the sums of their durations (apiserver_request_duration_seconds_sum)
// for the counted resources, by series name and then by
// "<verb>-<resource>[.<subresource>]".
func apiRequests(b *testing.B) map[string]map[string]float64 {
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
	out := map[string]map[string]float64{requestTotal: {}, requestSeconds + "_sum": {}}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		name, line, ok := strings.Cut(sc.Text(), "{")
		if out[name] == nil || !ok {
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
		out[name][key] += v
	}
	return out
}
