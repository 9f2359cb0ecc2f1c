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

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	ferrymeta "github.com/ferrycd/ferry/pkg/apis/meta"
)

// TestFinishSchedulesRetries drives Finish through a sequence of reconciles
// of one Kustomization with a fixed clock and checks the requeue, the count
// and the next attempt time it writes to status.
func TestFinishSchedulesRetries(t *testing.T) {
	factor := int64(2)
	policy := &ferrymeta.RetryPolicy{Limit: 3, Backoff: &ferrymeta.Backoff{
		Duration: &metav1.Duration{Duration: 10 * time.Second}, Factor: &factor,
		MaxDuration: &metav1.Duration{Duration: 30 * time.Second}}}
	failed := RetryErr("BuildFailed", errors.New("kustomization.yaml not found"))
	type step struct {
		revision    string
		err         error
		wantRequeue time.Duration
		wantRetries int64
		wantNext    time.Duration // from the clock; 0 for unset
		wantLimit   bool
	}
	tests := []struct {
		name  string
		retry *ferrymeta.RetryPolicy
		steps []step
	}{
		{name: "backoff grows, caps and stops at the limit", retry: policy, steps: []step{
			{revision: "r1", err: failed, wantRequeue: 10 * time.Second, wantRetries: 1, wantNext: 10 * time.Second},
			{revision: "r1", err: failed, wantRequeue: 20 * time.Second, wantRetries: 2, wantNext: 20 * time.Second},
			{revision: "r1", err: failed, wantRequeue: 30 * time.Second, wantRetries: 3, wantNext: 30 * time.Second},
			{revision: "r1", err: failed, wantRequeue: time.Hour, wantRetries: 3, wantLimit: true},
			// A new revision starts the count again.
			{revision: "r2", err: failed, wantRequeue: 10 * time.Second, wantRetries: 1, wantNext: 10 * time.Second},
			// A success clears it.
			{revision: "r2", wantRequeue: time.Hour},
			{revision: "r2", err: failed, wantRequeue: 10 * time.Second, wantRetries: 1, wantNext: 10 * time.Second},
		}},
		{name: "unlimited", retry: &ferrymeta.RetryPolicy{Limit: -1}, steps: []step{
			{revision: "r1", err: failed, wantRequeue: 5 * time.Second, wantRetries: 1, wantNext: 5 * time.Second},
			{revision: "r1", err: failed, wantRequeue: 10 * time.Second, wantRetries: 2, wantNext: 10 * time.Second},
		}},
		{name: "limit 0 never retries", retry: &ferrymeta.RetryPolicy{}, steps: []step{
			{revision: "r1", err: failed, wantRequeue: time.Hour, wantLimit: true},
		}},
		{name: "without a policy, Flux's fixed retryInterval", steps: []step{
			{revision: "r1", err: failed, wantRequeue: 2 * time.Minute, wantRetries: 1, wantNext: 2 * time.Minute},
			{revision: "r1", err: failed, wantRequeue: 2 * time.Minute, wantRetries: 2, wantNext: 2 * time.Minute},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			ctx := context.Background()
			scheme := runtime.NewScheme()
			g.Expect(kustomizev1.AddToScheme(scheme)).To(Succeed())
			obj := &kustomizev1.Kustomization{
				ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "default", Generation: 1},
				Spec: kustomizev1.KustomizationSpec{Interval: metav1.Duration{Duration: time.Hour},
					RetryInterval: &metav1.Duration{Duration: 2 * time.Minute}, Retry: tt.retry},
			}
			c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(obj).WithStatusSubresource(obj).Build()
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			f := &Finisher{Scheme: scheme, Now: func() time.Time { return now }}
			for i, st := range tt.steps {
				got := &kustomizev1.Kustomization{}
				g.Expect(c.Get(ctx, client.ObjectKeyFromObject(obj), got)).To(Succeed())
				patcher := patch.NewSerialPatcher(got, c)
				got.Status.LastAttemptedRevision = st.revision
				if st.err == nil {
					conditions.MarkTrue(got, meta.ReadyCondition, meta.SucceededReason, "applied")
				}
				res, err := f.Finish(ctx, patcher, got, now, st.err)
				g.Expect(err).NotTo(HaveOccurred(), "step %d: a retrier is requeued, not handed to the rate limiter", i)
				g.Expect(res.RequeueAfter).To(Equal(st.wantRequeue), "step %d", i)

				g.Expect(c.Get(ctx, client.ObjectKeyFromObject(obj), got)).To(Succeed())
				g.Expect(got.Status.Retries).To(Equal(st.wantRetries), "step %d", i)
				if st.wantNext == 0 {
					g.Expect(got.Status.NextRetryAt).To(BeNil(), "step %d", i)
				} else {
					g.Expect(got.Status.NextRetryAt).NotTo(BeNil(), "step %d", i)
					g.Expect(got.Status.NextRetryAt.Time).To(BeTemporally("==", now.Add(st.wantNext)), "step %d", i)
				}
				ready := conditions.Get(got, meta.ReadyCondition)
				g.Expect(ready.Message).To(map[bool]OmegaMatcher{true: ContainSubstring("retry limit"),
					false: Not(ContainSubstring("retry limit"))}[st.wantLimit], "step %d", i)
				now = now.Add(time.Minute)
			}
		})
	}
}
