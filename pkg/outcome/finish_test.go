package outcome

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/patch"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

func TestFinish(t *testing.T) {
	tests := []struct {
		name            string
		err             error
		wantErr         bool
		wantRequeue     time.Duration
		wantReady       metav1.ConditionStatus
		wantReason      string
		wantStalled     bool
		wantReconciling bool
		wantObservedGen bool
	}{
		{name: "success", wantRequeue: time.Minute, wantReady: metav1.ConditionTrue, wantReason: meta.SucceededReason, wantObservedGen: true},
		{name: "stall", err: StallErr("InvalidPath", errors.New("bad path")), wantReady: metav1.ConditionFalse,
			wantReason: "InvalidPath", wantStalled: true, wantObservedGen: true},
		{name: "wait", err: WaitErr("DependencyNotReady", 5*time.Second, errors.New("not yet")), wantRequeue: 5 * time.Second,
			wantReady: metav1.ConditionFalse, wantReason: "DependencyNotReady", wantReconciling: true},
		{name: "retry", err: RetryErr("GitOperationFailed", errors.New("unreachable")), wantErr: true,
			wantReady: metav1.ConditionFalse, wantReason: "GitOperationFailed", wantReconciling: true},
		// A hold leaves Ready as the last reconcile left it.
		{name: "hold", err: HoldErr("SyncWindowBlocked", 2*time.Hour, errors.New("sync blocked")), wantRequeue: 2 * time.Hour,
			wantReady: metav1.ConditionTrue, wantReason: meta.SucceededReason},
		// Progress is no failure: Ready Unknown, Reconciling kept, the
		// generation observed.
		{name: "progress", err: ProgressErr("Progressing", 3*time.Second, errors.New("waiting for 2 pods")), wantRequeue: 3 * time.Second,
			wantReady: metav1.ConditionUnknown, wantReason: "Progressing", wantReconciling: true, wantObservedGen: true},
		{name: "untyped", err: errors.New("boom"), wantErr: true, wantReady: metav1.ConditionFalse,
			wantReason: meta.FailedReason, wantReconciling: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			scheme := runtime.NewScheme()
			g.Expect(sourcev1.AddToScheme(scheme)).To(Succeed())
			obj := &sourcev1.GitRepository{
				ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "default", Generation: 3,
					Annotations: map[string]string{meta.ReconcileRequestAnnotation: "token-1"}},
				Spec: sourcev1.GitRepositorySpec{URL: "https://example.com/app", Interval: metav1.Duration{Duration: time.Minute}},
			}
			c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(obj).WithStatusSubresource(obj).Build()
			g.Expect(c.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)).To(Succeed())
			patcher := patch.NewSerialPatcher(obj, c)
			if tt.err == nil || As(tt.err, "").Kind == Hold {
				conditions.MarkTrue(obj, meta.ReadyCondition, meta.SucceededReason, "stored artifact")
			}
			f := &Finisher{Scheme: scheme}
			res, err := f.Finish(context.Background(), patcher, obj, time.Now(), tt.err)
			if tt.wantErr {
				g.Expect(err).To(HaveOccurred())
				g.Expect(res.RequeueAfter).To(BeZero())
			} else {
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(res.RequeueAfter).To(Equal(tt.wantRequeue))
			}

			got := &sourcev1.GitRepository{}
			g.Expect(c.Get(context.Background(), client.ObjectKeyFromObject(obj), got)).To(Succeed())
			ready := conditions.Get(got, meta.ReadyCondition)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(tt.wantReady))
			g.Expect(ready.Reason).To(Equal(tt.wantReason))
			g.Expect(conditions.IsTrue(got, meta.StalledCondition)).To(Equal(tt.wantStalled))
			g.Expect(conditions.IsTrue(got, meta.ReconcilingCondition)).To(Equal(tt.wantReconciling))
			g.Expect(conditions.Has(got, meta.StalledCondition)).To(Equal(tt.wantStalled), "Stalled only while true")
			g.Expect(got.Status.LastHandledReconcileAt).To(Equal("token-1"))
			if tt.wantObservedGen {
				g.Expect(got.Status.ObservedGeneration).To(Equal(int64(3)))
			} else {
				g.Expect(got.Status.ObservedGeneration).NotTo(Equal(int64(3)))
			}
		})
	}
}
