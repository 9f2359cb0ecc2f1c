package helmchart

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/suite"
)

// TestRequestBudget holds a HelmChart reconcile to its requests, counted on
// the wire: a new HelmChart costs its finalizer patch, one status patch and
// its event (the source and the index come from the cache, the chart from
// the shared build); one created with the finalizer already on it, as the
// helm-controller creates the HelmChart of a HelmRelease's spec.chart, costs
// no finalizer patch; an unchanged one costs its status patch alone.
func TestRequestBudget(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	repo := appRepository(t, ns)
	waitSourceReady(t, newHelmRepository(ns, "charts", ""))
	// The repository's event is on the wire before counting starts.
	waitEvent(t, ns, sourcev1.NewArtifactReason)

	newChart := []string{"create events", "patch helmcharts", "patch helmcharts/status"}
	var first *sourcev1.HelmChart
	for _, tc := range []struct {
		name      string
		finalizer bool
		want      []string
	}{
		{"first", false, newChart},
		{"second", false, newChart},
		{"templated", true, []string{"create events", "patch helmcharts/status"}},
	} {
		mark := requests.Mark(ns)
		obj := newHelmChart(ns, tc.name, "app", sourcev1.HelmRepositoryKind, "charts")
		if tc.finalizer {
			obj.Finalizers = []string{sourcev1.SourceFinalizer}
		}
		create(t, obj)
		got := waitChart(t, obj, metav1.ConditionTrue, sourcev1.ChartPullSucceededReason)
		waitEvents(t, ns, obj.Name, 1)
		g.Expect(requests.Since(ns, mark)).To(Equal(tc.want), "a new HelmChart (%s)", tc.name)
		if first == nil {
			first = got
		}
	}
	g.Expect(repo.ChartDownloads()).To(Equal(1))

	mark := requests.Mark(ns)
	waitHandled(t, first, suite.RequestReconcile(t, env.Client, first, timeout))
	g.Expect(requests.Since(ns, mark)).To(Equal([]string{"patch helmcharts/status"}), "an unchanged HelmChart")
}

// waitEvents waits until n events about the object named name are stored.
func waitEvents(t *testing.T, ns, name string, n int) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		var list corev1.EventList
		g.Expect(env.Client.List(context.Background(), &list, client.InNamespace(ns))).To(Succeed())
		count := 0
		for _, e := range list.Items {
			if e.InvolvedObject.Name == name {
				count++
			}
		}
		g.Expect(count).To(Equal(n))
	}, timeout, 50*time.Millisecond).Should(Succeed())
}
