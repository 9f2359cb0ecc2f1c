package outcome

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/patch"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	ferrymeta "github.com/ferrycd/ferry/pkg/apis/meta"
)

// TestFinishHelmReleaseRetries checks a Retrier without a retry interval, a
// HelmRelease: without spec.retry its failure goes back to the rate limiter
// as in Flux, uncounted; with it the failure is requeued on the backoff,
// counted per chart version and values digest.
func TestFinishHelmReleaseRetries(t *testing.T) {
	failed := RetryErr("InstallFailed", errors.New("Helm install failed"))
	type step struct {
		version, digest string
		wantErr         bool
		wantRequeue     time.Duration
		wantRetries     int64
	}
	tests := []struct {
		name  string
		retry *ferrymeta.RetryPolicy
		steps []step
	}{
		{name: "without spec.retry, the rate limiter", steps: []step{
			{version: "1.0.0", digest: "sha256:a", wantErr: true},
			{version: "1.0.0", digest: "sha256:a", wantErr: true},
		}},
		{name: "spec.retry backs off and a new chart or values digest starts again", retry: &ferrymeta.RetryPolicy{Limit: -1}, steps: []step{
			{version: "1.0.0", digest: "sha256:a", wantRequeue: 5 * time.Second, wantRetries: 1},
			{version: "1.0.0", digest: "sha256:a", wantRequeue: 10 * time.Second, wantRetries: 2},
			{version: "1.0.0", digest: "sha256:b", wantRequeue: 5 * time.Second, wantRetries: 1},
			{version: "1.0.1", digest: "sha256:b", wantRequeue: 5 * time.Second, wantRetries: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			ctx := context.Background()
			scheme := runtime.NewScheme()
			g.Expect(helmv2.AddToScheme(scheme)).To(Succeed())
			obj := &helmv2.HelmRelease{
				ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "default", Generation: 1},
				Spec: helmv2.HelmReleaseSpec{Interval: metav1.Duration{Duration: time.Hour}, Retry: tt.retry,
					ChartRef: &helmv2.CrossNamespaceSourceReference{Kind: "HelmChart", Name: "chart"}},
			}
			c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(obj).WithStatusSubresource(obj).Build()
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			f := &Finisher{Scheme: scheme, Now: func() time.Time { return now }}
			for i, st := range tt.steps {
				got := &helmv2.HelmRelease{}
				g.Expect(c.Get(ctx, client.ObjectKeyFromObject(obj), got)).To(Succeed())
				patcher := patch.NewSerialPatcher(got, c)
				got.Status.LastAttemptedRevision, got.Status.LastAttemptedConfigDigest = st.version, st.digest
				res, err := f.Finish(ctx, patcher, got, now, failed)
				if st.wantErr {
					g.Expect(err).To(HaveOccurred(), "step %d: handed to the rate limiter", i)
				} else {
					g.Expect(err).NotTo(HaveOccurred(), "step %d", i)
				}
				g.Expect(res.RequeueAfter).To(Equal(st.wantRequeue), "step %d", i)
				g.Expect(c.Get(ctx, client.ObjectKeyFromObject(obj), got)).To(Succeed())
				g.Expect(got.Status.Retries).To(Equal(st.wantRetries), "step %d", i)
				if st.wantRetries > 0 {
					g.Expect(got.Status.NextRetryAt.Time).To(BeTemporally("==", now.Add(st.wantRequeue)), "step %d", i)
				} else {
					g.Expect(got.Status.NextRetryAt).To(BeNil(), "step %d", i)
				}
				now = now.Add(time.Minute)
			}
		})
	}
}
