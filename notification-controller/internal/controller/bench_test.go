package controller

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
)

// benchNamespaces × benchApps objects post events; each namespace has one
// Alert per object (so every event matches exactly one) plus Alerts for
// another kind, which the index keeps out of the way, and one generic
// Provider, all delivering to one loopback sink.
const (
	benchNamespaces = 10
	benchApps       = 5
)

var (
	benchOnce sync.Once
	benchNS   []string
	benchSink *countingSink
)

// countingSink is a loopback service that only counts what it receives.
type countingSink struct {
	n atomic.Int64
}

func (s *countingSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	s.n.Add(1)
}

// benchSetup creates the Alerts and Providers once for every benchmark.
func benchSetup(b *testing.B) {
	benchOnce.Do(func() {
		benchSink = &countingSink{}
		// The sink lives as long as the test binary: later benchmarks reuse
		// the Providers pointing at it.
		ts := httptest.NewServer(benchSink).URL
		for range benchNamespaces {
			ns := newNamespace(b)
			benchNS = append(benchNS, ns)
			create(b, newProvider(ns, "sink", "generic", ts))
			for i := range benchApps {
				create(b, newAlert(ns, fmt.Sprintf("app-%d", i), "sink", func(a *notificationv1.Alert) {
					a.Spec.EventSources[0].Name = fmt.Sprintf("app-%d", i)
				}), newAlert(ns, fmt.Sprintf("ks-%d", i), "sink", func(a *notificationv1.Alert) {
					a.Spec.EventSources[0] = notificationv1.CrossNamespaceObjectReference{Kind: "Kustomization", Name: "*"}
				}))
			}
			waitCached(b, ns, 2*benchApps, 1)
		}
	})
}

// benchBodies pre-encodes n distinct events, so the benchmark measures the
// server and not the client's JSON encoding.
func benchBodies(b *testing.B, n int, seed int64) [][]byte {
	bodies := make([][]byte, n)
	for i := range bodies {
		ns := benchNS[i%benchNamespaces]
		e := gitRepoEvent(ns, fmt.Sprintf("app-%d", i%benchApps), eventv1.EventSeverityInfo,
			"stored artifact for commit 'update'", fmt.Sprintf("main@sha1:%040d", seed+int64(i)))
		data, err := json.Marshal(e)
		if err != nil {
			b.Fatal(err)
		}
		bodies[i] = data
	}
	return bodies
}

var benchSeed atomic.Int64

// BenchmarkEventEndpoint measures events per second end to end: HTTP POST
// over loopback, validation, de-duplication, matching against 100 Alerts in
// the real cache, queueing, and delivery to a loopback sink. The clock stops
// when every accepted event was delivered or dropped.
func BenchmarkEventEndpoint(b *testing.B) {
	benchSetup(b)
	bodies := benchBodies(b, b.N, benchSeed.Add(int64(b.N))*1_000_000)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	delivered0, dropped0 := benchSink.n.Load(), droppedTotal()
	var next atomic.Int64
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			if code := postBody(client, bodies[i]); code != http.StatusAccepted {
				b.Errorf("status %d", code)
				return
			}
		}
	})
	for benchSink.n.Load()-delivered0+int64(droppedTotal()-dropped0) < int64(b.N) {
		runtime.Gosched()
	}
	b.StopTimer()
	bodies = nil
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(benchSink.n.Load()-delivered0)/b.Elapsed().Seconds(), "delivered/s")
	b.ReportMetric(droppedTotal()-dropped0, "dropped")
	b.ReportMetric(heapMiB(), "heap-MiB")
}

// BenchmarkEventEndpointAtRate posts at fixed rates, Flux's target of 2,000
// events/s and above, from 16 senders, and reports the POST latency, what
// was dropped and the heap afterwards: a rate is sustained when nothing is
// dropped and the heap stays flat. Run it with -benchtime=20000x or more so
// each rate lasts seconds.
func BenchmarkEventEndpointAtRate(b *testing.B) {
	for _, rate := range []int{2000, 5000} {
		b.Run(fmt.Sprintf("%d", rate), func(b *testing.B) { benchAtRate(b, rate) })
	}
}

func benchAtRate(b *testing.B, rate int) {
	benchSetup(b)
	const senders = 16
	bodies := benchBodies(b, b.N, benchSeed.Add(int64(b.N))*1_000_000)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	delivered0, dropped0 := benchSink.n.Load(), droppedTotal()
	latencies := make([]time.Duration, b.N)
	start := time.Now()
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < b.N; i += senders {
				// Event i is due at start + i/rate.
				if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); d > 0 {
					time.Sleep(d)
				}
				t0 := time.Now()
				if code := postBody(client, bodies[i]); code != http.StatusAccepted {
					b.Errorf("status %d", code)
					return
				}
				latencies[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	for benchSink.n.Load()-delivered0+int64(droppedTotal()-dropped0) < int64(b.N) {
		runtime.Gosched()
	}
	b.StopTimer()
	bodies = nil
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(droppedTotal()-dropped0, "dropped")
	b.ReportMetric(heapMiB(), "heap-MiB")
}

func postBody(c *http.Client, body []byte) int {
	resp, err := c.Post(eventsURL, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// droppedTotal reads ferry_notification_events_dropped_total from the
// controller-runtime registry, summed over reasons.
func droppedTotal() float64 {
	families, err := crmetrics.Registry.(prometheus.Gatherer).Gather()
	if err != nil {
		return 0
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() != "ferry_notification_events_dropped_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			total += counterValue(m)
		}
	}
	return total
}

func counterValue(m *dto.Metric) float64 {
	if c := m.GetCounter(); c != nil {
		return c.GetValue()
	}
	return 0
}

// heapMiB is the live heap after a collection, in MiB.
func heapMiB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapInuse) / (1 << 20)
}
