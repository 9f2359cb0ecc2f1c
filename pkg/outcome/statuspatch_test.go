package outcome

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/patch"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

// gitRepositoryWithFinalizer returns a fake client holding default/app, a
// GitRepository that already has its finalizer, and a Finisher owning Ready.
func gitRepositoryWithFinalizer(g Gomega) (client.Client, *Finisher) {
	scheme := runtime.NewScheme()
	g.Expect(sourcev1.AddToScheme(scheme)).To(Succeed())
	obj := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "default", Finalizers: []string{"finalizers.fluxcd.io"}},
		Spec:       sourcev1.GitRepositorySpec{URL: "https://example.com/app", Interval: metav1.Duration{Duration: time.Minute}},
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(obj).WithStatusSubresource(obj).Build()
	return c, &Finisher{Scheme: scheme, OwnedConditions: []string{meta.ReadyCondition}}
}

// A progress write, then a write by someone else, then the end result: the
// end result falls back to the patch helper on the conflict, and must still
// remove the Reconciling condition the progress write added.
func TestProgressThenConflictLeavesNoReconciling(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c, f := gitRepositoryWithFinalizer(g)
	l := Lifecycle[*sourcev1.GitRepository]{
		Client: c, Finisher: f, Finalizer: "finalizers.fluxcd.io",
		Suspended: func(*sourcev1.GitRepository) bool { return false },
		Steps: func(ctx context.Context, o *sourcev1.GitRepository, p *patch.SerialPatcher) error {
			conditions.MarkReconciling(o, meta.ProgressingReason, "a long action")
			f.Progress(ctx, p, o.DeepCopy())
			other := &sourcev1.GitRepository{}
			g.Expect(c.Get(ctx, client.ObjectKeyFromObject(o), other)).To(Succeed())
			other.Annotations = map[string]string{"someone": "else"}
			g.Expect(c.Update(ctx, other)).To(Succeed())
			conditions.MarkTrue(o, meta.ReadyCondition, meta.SucceededReason, "stored artifact")
			return nil
		},
	}
	key := types.NamespacedName{Namespace: "default", Name: "app"}
	_, err := l.Run(ctx, key, &sourcev1.GitRepository{})
	g.Expect(err).NotTo(HaveOccurred())

	got := &sourcev1.GitRepository{}
	g.Expect(c.Get(ctx, key, got)).To(Succeed())
	g.Expect(conditions.IsTrue(got, meta.ReadyCondition)).To(BeTrue())
	g.Expect(conditions.Get(got, meta.ReconcilingCondition)).To(BeNil(), "the progress write's Reconciling must be gone")
	g.Expect(conditions.IsReady(got)).To(BeTrue())
}

// The reconcile read its object from a cache that had not yet seen the
// previous reconcile's status write (Reconciling=True, as a wait writes
// it): the write of this reconcile's result conflicts and is rebased on the
// object as it is now, and must leave the conditions as this reconcile set
// them, while a status field this reconcile did not touch keeps what
// another writer put there.
func TestStaleBaseLeavesNoReconciling(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c, f := gitRepositoryWithFinalizer(g)
	l := Lifecycle[*sourcev1.GitRepository]{
		Client: c, Finisher: f, Finalizer: "finalizers.fluxcd.io",
		Suspended: func(*sourcev1.GitRepository) bool { return false },
		Steps: func(ctx context.Context, o *sourcev1.GitRepository, _ *patch.SerialPatcher) error {
			// What the base does not know: the earlier reconcile's wait,
			// and a field someone else set.
			earlier := &sourcev1.GitRepository{}
			g.Expect(c.Get(ctx, client.ObjectKeyFromObject(o), earlier)).To(Succeed())
			conditions.MarkReconciling(earlier, meta.ProgressingReason, "waiting")
			conditions.MarkFalse(earlier, meta.ReadyCondition, meta.ProgressingReason, "waiting")
			earlier.Status.LastHandledReconcileAt = "by-someone-else"
			g.Expect(c.Status().Update(ctx, earlier)).To(Succeed())
			conditions.MarkTrue(o, meta.ReadyCondition, meta.SucceededReason, "stored artifact")
			return nil
		},
	}
	key := types.NamespacedName{Namespace: "default", Name: "app"}
	_, err := l.Run(ctx, key, &sourcev1.GitRepository{})
	g.Expect(err).NotTo(HaveOccurred())

	got := &sourcev1.GitRepository{}
	g.Expect(c.Get(ctx, key, got)).To(Succeed())
	g.Expect(conditions.Get(got, meta.ReconcilingCondition)).To(BeNil(), "the earlier Reconciling must be gone")
	g.Expect(conditions.IsReady(got)).To(BeTrue())
	g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
	g.Expect(got.Status.LastHandledReconcileAt).To(Equal("by-someone-else"), "a field this reconcile did not change is kept")
}
