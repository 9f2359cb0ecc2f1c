package analysisrun

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/suite"
)

var env *cluster.Cluster

// timeout bounds every wait for a run: the runs here take a few
// measurements a second apart, and Prometheus scrapes every second.
const timeout = 60 * time.Second

// TestMain starts one API server (runs need nothing else of a cluster) and
// the AnalysisRun reconciler.
func TestMain(m *testing.M) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	opts := suite.Options{Mode: cluster.Fast, Scheme: scheme, Controller: "rollout-controller", NoRateLimit: true}
	os.Exit(suite.Run(m, opts, func(e *suite.Env) error {
		env = e.Cluster
		r := &Reconciler{
			Client:    e.Manager.GetClient(),
			APIReader: e.Manager.GetAPIReader(),
			Finisher:  outcome.Finisher{Scheme: scheme, Recorder: e.Recorder, OwnedConditions: OwnedConditions},
		}
		return r.SetupWithManager(e.Ctx, e.Manager)
	}))
}

// newRun is an AnalysisRun of the metrics in a new namespace of the test.
func newRun(t *testing.T, metrics ...v1alpha1.Metric) *v1alpha1.AnalysisRun {
	t.Helper()
	ns := suite.NewNamespace(t, env.Client, "analysisrun-")
	return &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{Name: "run", Namespace: ns},
		Spec:       v1alpha1.AnalysisRunSpec{Metrics: metrics},
	}
}

// create creates the run.
func create(t *testing.T, run *v1alpha1.AnalysisRun) {
	t.Helper()
	if err := env.Client.Create(context.Background(), run); err != nil {
		t.Fatal(err)
	}
}

// getRun reads the run at key.
func getRun(g Gomega, key client.ObjectKey) *v1alpha1.AnalysisRun {
	run := &v1alpha1.AnalysisRun{}
	g.Expect(env.Client.Get(context.Background(), key, run)).To(Succeed())
	return run
}

// waitPhase waits for the run to reach phase and returns it.
func waitPhase(t *testing.T, run *v1alpha1.AnalysisRun, phase v1alpha1.AnalysisPhase) *v1alpha1.AnalysisRun {
	t.Helper()
	var got *v1alpha1.AnalysisRun
	NewWithT(t).Eventually(func(g Gomega) {
		got = getRun(g, client.ObjectKeyFromObject(run))
		g.Expect(got.Status.Phase).To(Equal(phase), "message: %s", got.Status.Message)
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
	}, timeout, 100*time.Millisecond).Should(Succeed())
	return got
}

// waitRunning waits for the run to be Running with at least n successful
// measurements of its one metric.
func waitRunning(t *testing.T, run *v1alpha1.AnalysisRun, n int32) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		got := getRun(g, client.ObjectKeyFromObject(run))
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseRunning), "message: %s", got.Status.Message)
		g.Expect(got.Status.MetricResults).To(HaveLen(1))
		g.Expect(got.Status.MetricResults[0].Successful).To(BeNumerically(">=", n))
	}, timeout, 100*time.Millisecond).Should(Succeed())
}

// metricResult returns the run's result of the named metric.
func metricResult(t *testing.T, run *v1alpha1.AnalysisRun, name string) v1alpha1.MetricResult {
	t.Helper()
	for _, r := range run.Status.MetricResults {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("run has no result for metric %q: %+v", name, run.Status.MetricResults)
	return v1alpha1.MetricResult{}
}

// expectReady checks the run's Ready condition and that Stalled is set
// exactly when stalled.
func expectReady(t *testing.T, run *v1alpha1.AnalysisRun, status metav1.ConditionStatus, reason string, stalled bool) {
	t.Helper()
	g := NewWithT(t)
	ready := conditions.Get(run, meta.ReadyCondition)
	g.Expect(ready).NotTo(BeNil())
	g.Expect(ready.Status).To(Equal(status), ready.Message)
	g.Expect(ready.Reason).To(Equal(reason))
	g.Expect(conditions.IsTrue(run, meta.StalledCondition)).To(Equal(stalled))
	g.Expect(conditions.Has(run, meta.ReconcilingCondition)).To(BeFalse())
}

// expectEvent waits for an event of the run with the type and a message
// that contains text.
func expectEvent(t *testing.T, run *v1alpha1.AnalysisRun, eventType, text string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		var list corev1.EventList
		g.Expect(env.Client.List(context.Background(), &list, client.InNamespace(run.Namespace))).To(Succeed())
		var seen []string
		for _, e := range list.Items {
			if e.InvolvedObject.Name == run.Name && e.InvolvedObject.Kind == v1alpha1.AnalysisRunKind {
				seen = append(seen, e.Type+": "+e.Message)
			}
		}
		g.Expect(seen).To(ContainElement(And(HavePrefix(eventType+": "), ContainSubstring(text))))
	}, timeout, 200*time.Millisecond).Should(Succeed())
}
