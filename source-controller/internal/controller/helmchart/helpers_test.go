package helmchart

import (
	"bytes"
	"context"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/suite"
)

const timeout = 30 * time.Second

func newNamespace(t *testing.T) string {
	t.Helper()
	return suite.NewNamespace(t, env.Client, "helmchart-")
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	NewWithT(t).Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
}

func newHelmRepository(ns, name, url string, mutate ...func(*sourcev1.HelmRepository)) *sourcev1.HelmRepository {
	obj := &sourcev1.HelmRepository{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       sourcev1.HelmRepositorySpec{URL: url, Interval: metav1.Duration{Duration: time.Hour}},
	}
	for _, m := range mutate {
		m(obj)
	}
	return obj
}

func newGitRepository(ns, name, url string) *sourcev1.GitRepository {
	return &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: sourcev1.GitRepositorySpec{
			URL: url, Interval: metav1.Duration{Duration: time.Hour}, Reference: &sourcev1.GitRepositoryRef{Branch: "main"},
		},
	}
}

func newHelmChart(ns, name, chartName, kind, source string, mutate ...func(*sourcev1.HelmChart)) *sourcev1.HelmChart {
	obj := &sourcev1.HelmChart{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: sourcev1.HelmChartSpec{
			Chart:     chartName,
			SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: kind, Name: source},
			Interval:  metav1.Duration{Duration: time.Hour},
		},
	}
	for _, m := range mutate {
		m(obj)
	}
	return obj
}

// waitChart waits until Ready has status, reason and a message containing
// text (any when empty) and, for True, observedGeneration is current.
func waitChart(t *testing.T, obj *sourcev1.HelmChart, status metav1.ConditionStatus, reason string, text ...string) *sourcev1.HelmChart {
	t.Helper()
	got := &sourcev1.HelmChart{}
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got)).To(Succeed())
		ready := conditions.Get(got, fluxmeta.ReadyCondition)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(status), ready.Message)
		if reason != "" {
			g.Expect(ready.Reason).To(Equal(reason), ready.Message)
		}
		for _, tx := range text {
			g.Expect(ready.Message).To(ContainSubstring(tx))
		}
		if status == metav1.ConditionTrue {
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		}
	}, timeout, 50*time.Millisecond).Should(Succeed())
	return got
}

// waitRevision waits until the chart's artifact has revision.
func waitRevision(t *testing.T, obj *sourcev1.HelmChart, revision string) *sourcev1.HelmChart {
	t.Helper()
	got := &sourcev1.HelmChart{}
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got)).To(Succeed())
		g.Expect(got.Status.Artifact).NotTo(BeNil())
		g.Expect(got.Status.Artifact.Revision).To(Equal(revision))
		g.Expect(conditions.IsReady(got)).To(BeTrue())
	}, timeout, 50*time.Millisecond).Should(Succeed())
	return got
}

// waitSourceReady waits until a source has an artifact and is Ready.
func waitSourceReady(t testing.TB, obj interface {
	client.Object
	conditions.Getter
	GetArtifact() *fluxmeta.Artifact
}) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)).To(Succeed())
		g.Expect(conditions.IsReady(obj)).To(BeTrue(), conditions.GetMessage(obj, fluxmeta.ReadyCondition))
	}, timeout, 50*time.Millisecond).Should(Succeed())
}

// loadArtifact downloads a chart artifact and loads it with Helm.
func loadArtifact(t *testing.T, a *fluxmeta.Artifact) *chart.Chart {
	t.Helper()
	ch, err := loader.LoadArchive(bytes.NewReader(suite.Download(t, a)))
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return ch
}

// waitHandled waits until the chart reconcile asked for with token finished.
func waitHandled(t *testing.T, obj *sourcev1.HelmChart, token string) *sourcev1.HelmChart {
	t.Helper()
	got := &sourcev1.HelmChart{}
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got)).To(Succeed())
		g.Expect(got.Status.LastHandledReconcileAt).To(Equal(token))
	}, timeout, 50*time.Millisecond).Should(Succeed())
	return got
}

// updateChart applies mutate to the latest HelmChart, retrying conflicts.
func updateChart(t *testing.T, obj *sourcev1.HelmChart, mutate func(*sourcev1.HelmChart)) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		cur := &sourcev1.HelmChart{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), cur); err != nil {
			return err
		}
		mutate(cur)
		return env.Client.Update(context.Background(), cur)
	}, timeout, 50*time.Millisecond).Should(Succeed())
}

func eventReasons(t *testing.T, ns string) []string {
	t.Helper()
	var list corev1.EventList
	NewWithT(t).Expect(env.Client.List(context.Background(), &list, client.InNamespace(ns))).To(Succeed())
	var reasons []string
	for _, e := range list.Items {
		reasons = append(reasons, e.Reason)
	}
	return reasons
}

// waitEvent waits until an event with reason is stored in ns: the recorder
// writes events on its own, so they may land after the status a test saw.
func waitEvent(t *testing.T, ns, reason string) {
	t.Helper()
	NewWithT(t).Eventually(func() []string { return eventReasons(t, ns) }, timeout, 50*time.Millisecond).
		Should(ContainElement(reason))
}

func secret(ns, name string, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: data}
}
