package outcome

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/metrics"
	"github.com/fluxcd/pkg/runtime/patch"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

// seriesOf counts the series of each gotk_* metric that belong to the
// object named name.
func seriesOf(g Gomega, reg *prometheus.Registry, name string) map[string]int {
	families, err := reg.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	got := map[string]int{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "name" && l.GetValue() == name {
					got[f.GetName()]++
				}
			}
		}
	}
	return got
}

// suspendValue reads gotk_suspend_status of the object named name.
func suspendValue(g Gomega, reg *prometheus.Registry, name string) float64 {
	families, err := reg.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != "gotk_suspend_status" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "name" && l.GetValue() == name {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}

func corevRef(name string) corev1.ObjectReference {
	return corev1.ObjectReference{Kind: sourcev1.GitRepositoryKind, Namespace: "default", Name: name}
}

func TestLifecycleForgetsMetricsOnFinalize(t *testing.T) {
	for _, suspended := range []bool{false, true} {
		t.Run(map[bool]string{false: "active", true: "suspended"}[suspended], func(t *testing.T) {
			g := NewWithT(t)
			ctx := context.Background()
			scheme := runtime.NewScheme()
			g.Expect(sourcev1.AddToScheme(scheme)).To(Succeed())
			obj := &sourcev1.GitRepository{
				ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "default"},
				Spec: sourcev1.GitRepositorySpec{URL: "https://example.com/app",
					Interval: metav1.Duration{Duration: time.Minute}, Suspend: suspended},
			}
			c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(obj).WithStatusSubresource(obj).Build()
			rec := metrics.NewRecorder()
			reg := prometheus.NewRegistry()
			reg.MustRegister(rec.Collectors()...)
			// Another object's series must survive.
			rec.RecordSuspend(corevRef("other"), false)

			l := Lifecycle[*sourcev1.GitRepository]{
				Client:    c,
				Finisher:  &Finisher{Scheme: scheme, Metrics: rec, OwnedConditions: []string{"Ready"}},
				Finalizer: "finalizers.fluxcd.io",
				Suspended: func(o *sourcev1.GitRepository) bool { return o.Spec.Suspend },
				Steps: func(_ context.Context, o *sourcev1.GitRepository, _ *patch.SerialPatcher) error {
					conditions.MarkTrue(o, meta.ReadyCondition, meta.SucceededReason, "stored artifact")
					return nil
				},
			}
			key := types.NamespacedName{Namespace: "default", Name: "app"}
			_, err := l.Run(ctx, key, &sourcev1.GitRepository{})
			g.Expect(err).NotTo(HaveOccurred())
			want := map[string]int{"gotk_suspend_status": 1}
			if !suspended {
				want["gotk_reconcile_duration_seconds"] = 1
				want["gotk_reconcile_condition"] = 3 // Ready: True, False, Unknown
			}
			g.Expect(seriesOf(g, reg, "app")).To(Equal(want), "a reconcile records the object's series")
			g.Expect(suspendValue(g, reg, "app")).To(Equal(map[bool]float64{false: 0, true: 1}[suspended]))

			g.Expect(c.Delete(ctx, obj)).To(Succeed())
			_, err = l.Run(ctx, key, &sourcev1.GitRepository{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(c.Get(ctx, key, &sourcev1.GitRepository{})).NotTo(Succeed(), "the finalizer is removed")
			g.Expect(seriesOf(g, reg, "app")).To(BeEmpty(), "finalize deletes every series of the object")
			g.Expect(seriesOf(g, reg, "other")).To(HaveLen(1))
		})
	}
}

func TestLifecycleForgetsMetricsOfAnObjectGoneUnseen(t *testing.T) {
	g := NewWithT(t)
	scheme := runtime.NewScheme()
	g.Expect(sourcev1.AddToScheme(scheme)).To(Succeed())
	rec := metrics.NewRecorder()
	reg := prometheus.NewRegistry()
	reg.MustRegister(rec.Collectors()...)
	ref := corevRef("gone")
	rec.RecordSuspend(ref, false)
	rec.RecordDuration(ref, time.Now())

	l := Lifecycle[*sourcev1.GitRepository]{
		Client:   fake.NewClientBuilder().WithScheme(scheme).Build(),
		Finisher: &Finisher{Scheme: scheme, Metrics: rec},
	}
	_, err := l.Run(context.Background(), types.NamespacedName{Namespace: "default", Name: "gone"}, &sourcev1.GitRepository{})
	g.Expect(client.IgnoreNotFound(err)).To(Succeed())
	g.Expect(seriesOf(g, reg, "gone")).To(BeEmpty())
}
