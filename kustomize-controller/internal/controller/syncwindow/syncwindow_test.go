package syncwindow

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	policyv1 "github.com/ferrycd/ferry/pkg/apis/policy/v1alpha1"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/suite"
)

var (
	env *cluster.Cluster
	// now is the reconciler's fixed clock: Monday 2026-12-07 09:00 UTC.
	now = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
)

func TestMain(m *testing.M) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(policyv1.AddToScheme(scheme))
	os.Exit(suite.Run(m, suite.Options{Mode: cluster.Fast, Scheme: scheme, Controller: "kustomize-controller", NoRateLimit: true},
		func(e *suite.Env) error {
			env = e.Cluster
			r := &Reconciler{
				Client:   e.Manager.GetClient(),
				Finisher: outcome.Finisher{Scheme: scheme, Recorder: e.Recorder},
				Now:      func() time.Time { return now },
			}
			return r.SetupWithManager(e.Manager)
		}))
}

func newWindow(ns, name string, spec policyv1.SyncWindowSpec) *policyv1.SyncWindow {
	return &policyv1.SyncWindow{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: spec}
}

func readyOf(g Gomega, key client.ObjectKey) (*policyv1.SyncWindow, *metav1.Condition) {
	sw := &policyv1.SyncWindow{}
	g.Expect(env.Client.Get(context.Background(), key, sw)).To(Succeed())
	return sw, conditions.Get(sw, meta.ReadyCondition)
}

func TestWindowStatus(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := suite.NewNamespace(t, env.Client, "syncwindow-")

	active := newWindow(ns, "business-hours", policyv1.SyncWindowSpec{
		Kind: "allow", Schedule: "0 8 * * 1-5", Duration: metav1.Duration{Duration: 10 * time.Hour}, TimeZone: "Europe/Berlin"})
	inactive := newWindow(ns, "weekend", policyv1.SyncWindowSpec{
		Kind: "deny", Schedule: "0 0 * * 6", Duration: metav1.Duration{Duration: 48 * time.Hour}})
	invalid := newWindow(ns, "broken", policyv1.SyncWindowSpec{
		Kind: "deny", Schedule: "0 25 * * *", Duration: metav1.Duration{Duration: time.Hour}, TimeZone: "Mars/Olympus"})
	for _, sw := range []*policyv1.SyncWindow{active, inactive, invalid} {
		g.Expect(env.Client.Create(ctx, sw)).To(Succeed())
	}

	g.Eventually(func(g Gomega) {
		sw, ready := readyOf(g, client.ObjectKeyFromObject(active))
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(ready.Reason).To(Equal(policyv1.ActiveReason))
		g.Expect(sw.Status.Active).To(BeTrue())
		// The patch helper writes conditions before the other status
		// fields, so wait for those too.
		g.Expect(sw.Status.NextChange).NotTo(BeNil())
		// 08:00 Berlin is 07:00 UTC; ten hours later is 17:00 UTC.
		g.Expect(sw.Status.NextChange.UTC()).To(Equal(time.Date(2026, 12, 7, 17, 0, 0, 0, time.UTC)))
	}, 20*time.Second, 100*time.Millisecond).Should(Succeed())

	g.Eventually(func(g Gomega) {
		sw, ready := readyOf(g, client.ObjectKeyFromObject(inactive))
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Reason).To(Equal(policyv1.InactiveReason))
		g.Expect(sw.Status.Active).To(BeFalse())
		g.Expect(sw.Status.NextChange).NotTo(BeNil())
		g.Expect(sw.Status.NextChange.UTC()).To(Equal(time.Date(2026, 12, 12, 0, 0, 0, 0, time.UTC)))
	}, 20*time.Second, 100*time.Millisecond).Should(Succeed())

	g.Eventually(func(g Gomega) {
		sw, ready := readyOf(g, client.ObjectKeyFromObject(invalid))
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(policyv1.InvalidWindowReason))
		g.Expect(ready.Message).To(ContainSubstring(`invalid schedule "0 25 * * *"`))
		g.Expect(conditions.IsStalled(sw)).To(BeTrue())
	}, 20*time.Second, 100*time.Millisecond).Should(Succeed())

	// Suspending a window is the emergency override: it blocks nothing.
	g.Eventually(func() error {
		cur := &policyv1.SyncWindow{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(active), cur); err != nil {
			return err
		}
		cur.Spec.Suspend = true
		return env.Client.Update(ctx, cur)
	}, 10*time.Second).Should(Succeed())
	g.Eventually(func(g Gomega) {
		sw, ready := readyOf(g, client.ObjectKeyFromObject(active))
		g.Expect(ready.Reason).To(Equal(policyv1.SuspendedReason))
		g.Expect(sw.Status.Active).To(BeFalse())
	}, 20*time.Second, 100*time.Millisecond).Should(Succeed())
}
