package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/test/suite"
)

// TestBinaryResumesAnalysisRun: the binary, under its own RBAC, measures
// a web metric every second; killed after two measurements and started
// again, it keeps the measurements already taken and takes only the rest
// of the count, so the run ends with exactly count measurements. Each
// answer of the endpoint is its request's number, so the values show which
// requests the measurements are.
func TestBinaryResumesAnalysisRun(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"n": %d}`, requests.Add(1))
	}))
	t.Cleanup(srv.Close)

	first := startController(t)
	ns := suite.NewNamespace(t, env.Client, "analysis-binary-")
	const count = 6
	run := &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{Name: "run", Namespace: ns},
		Spec: v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{{
			Name:             "answers",
			Interval:         "1s",
			Count:            ptr.To(intstr.FromInt32(count)),
			SuccessCondition: "result > 0",
			Provider:         v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: srv.URL, JSONPath: "{$.n}"}},
		}}},
	}
	g.Expect(env.Client.Create(ctx, run)).To(Succeed())
	key := client.ObjectKeyFromObject(run)
	get := func(g Gomega) *v1alpha1.AnalysisRun {
		got := &v1alpha1.AnalysisRun{}
		g.Expect(env.Client.Get(ctx, key, got)).To(Succeed())
		return got
	}
	var before []v1alpha1.Measurement
	g.Eventually(func(g Gomega) {
		got := get(g)
		g.Expect(got.Status.MetricResults).To(HaveLen(1))
		g.Expect(got.Status.MetricResults[0].Count).To(BeNumerically(">=", 2))
	}, time.Minute, 100*time.Millisecond).Should(Succeed())
	first.Kill()
	got := get(g)
	before = got.Status.MetricResults[0].Measurements
	g.Expect(got.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseRunning))
	g.Expect(len(before)).To(BeNumerically("<", count))

	restarted := time.Now().Truncate(time.Second)
	startController(t)
	g.Eventually(func(g Gomega) {
		got = get(g)
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseSuccessful), "message: %s", got.Status.Message)
	}, time.Minute, 100*time.Millisecond).Should(Succeed())
	res := got.Status.MetricResults[0]
	g.Expect(res.Count).To(Equal(int32(count)))
	g.Expect(res.Successful).To(Equal(int32(count)))
	g.Expect(res.Measurements).To(HaveLen(count))
	// The measurements of the first process are kept as they were; the
	// rest were taken by the second one.
	g.Expect(res.Measurements[:len(before)]).To(Equal(before))
	for _, m := range res.Measurements[len(before):] {
		g.Expect(m.StartedAt.Time).NotTo(BeTemporally("<", restarted))
	}
	// A measurement the first process took as it was killed, before its
	// status was written, is the only request that is not a measurement.
	g.Expect(requests.Load()).To(BeNumerically("<=", count+1))
}
