package rollout

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/test/suite"
)

// TestRolloutBecomesHealthy: a Rollout with a template gets one
// ReplicaSet named and labelled by its pod-template hash, scaled to
// spec.replicas; once its pods are available the Rollout is Healthy and
// Ready, with the hash as currentPodHash and stableRS. A new template
// without steps replaces the pods and becomes the stable ReplicaSet; the
// old one is scaled to zero.
func TestRolloutBecomesHealthy(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := suite.NewNamespace(t, env.Client, "rollout-")

	ro := newRollout(ns, "web", 3, "web:1")
	g.Expect(env.Client.Create(ctx, ro)).To(Succeed())
	got, rs := expectHealthy(t, ro, 3)
	g.Expect(rs.Labels).To(HaveKeyWithValue(v1alpha1.DefaultRolloutUniqueLabelKey, got.Status.CurrentPodHash))
	g.Expect(rs.Spec.Selector.MatchLabels).To(HaveKeyWithValue(v1alpha1.DefaultRolloutUniqueLabelKey, got.Status.CurrentPodHash))
	g.Expect(rs.Spec.Template.Labels).To(HaveKeyWithValue("app", "web"))
	g.Expect(*rs.Spec.Replicas).To(Equal(int32(3)))
	g.Expect(got.Status.Selector).To(Equal("app=web"))
	g.Expect(got.Status.HPAReplicas).To(Equal(int32(3)))

	var pods corev1.PodList
	g.Expect(env.Client.List(ctx, &pods, client.InNamespace(ns),
		client.MatchingLabels{v1alpha1.DefaultRolloutUniqueLabelKey: got.Status.CurrentPodHash})).To(Succeed())
	g.Expect(pods.Items).To(HaveLen(3))

	// A new template without steps rolls out at once and becomes stable.
	first := got.Status.CurrentPodHash
	suite.Edit(t, env.Client, got, func(r *v1alpha1.Rollout) {
		r.Spec.Template.Spec.Containers[0].Image = "web:2"
	}, timeout)
	got, rs = expectHealthy(t, ro, 3)
	g.Expect(got.Status.CurrentPodHash).NotTo(Equal(first))
	g.Expect(rs.Spec.Template.Spec.Containers[0].Image).To(Equal("web:2"))
	g.Expect(rs.Annotations).To(HaveKeyWithValue(RevisionAnnotation, "2"))
	g.Eventually(func(g Gomega) {
		old := replicaSetOf(g, got, first)
		g.Expect(*old.Spec.Replicas).To(BeZero())
		g.Expect(old.Status.Replicas).To(BeZero())
	}, timeout).Should(Succeed())
}

// TestWorkloadRef: a Rollout that names a Deployment in workloadRef runs
// the Deployment's template (and selector) in its own ReplicaSet and
// scales the Deployment to zero, as Argo Rollouts does.
func TestWorkloadRef(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := suite.NewNamespace(t, env.Client, "rollout-ref-")

	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}},
			Template: podTemplate("api", "api:7"),
		},
	}
	g.Expect(env.Client.Create(ctx, deploy)).To(Succeed())
	ro := &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: ns},
		Spec: v1alpha1.RolloutSpec{
			Replicas:    ptr.To[int32](4),
			WorkloadRef: &v1alpha1.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "api"},
		},
	}
	g.Expect(env.Client.Create(ctx, ro)).To(Succeed())

	_, rs := expectHealthy(t, ro, 4)
	g.Expect(rs.Spec.Template.Spec.Containers[0].Image).To(Equal("api:7"))
	g.Eventually(func(g Gomega) {
		d := &appsv1.Deployment{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(deploy), d)).To(Succeed())
		g.Expect(*d.Spec.Replicas).To(BeZero())
		g.Expect(d.Status.Replicas).To(BeZero())
		// The status says which generation of the Deployment it describes,
		// the scale-down included, for health checks to compare.
		got := &v1alpha1.Rollout{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ro), got)).To(Succeed())
		g.Expect(got.Status.WorkloadObservedGeneration).To(Equal(d.Generation))
	}, timeout).Should(Succeed())

	// A new image in the Deployment is a new template for the rollout.
	suite.Edit(t, env.Client, deploy, func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.Containers[0].Image = "api:8"
	}, timeout)
	g.Eventually(func(g Gomega) {
		got, rs := expectHealthyG(g, ro, 4)
		g.Expect(rs.Spec.Template.Spec.Containers[0].Image).To(Equal("api:8"))
		g.Expect(got.Status.StableRS).To(Equal(got.Status.CurrentPodHash))
		d := &appsv1.Deployment{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(deploy), d)).To(Succeed())
		g.Expect(got.Status.WorkloadObservedGeneration).To(Equal(d.Generation))
	}, timeout, 200*time.Millisecond).Should(Succeed())
}

// TestProgressDeadline: a rollout whose pods never become available (they
// fit no node) is Degraded with ProgressDeadlineExceeded once
// progressDeadlineSeconds pass without progress (Ready False, Stalled);
// a template that can run makes it Healthy again.
func TestProgressDeadline(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := suite.NewNamespace(t, env.Client, "rollout-deadline-")
	ro := newRollout(ns, "stuck", 2, "stuck:1", func(r *v1alpha1.Rollout) {
		r.Spec.ProgressDeadlineSeconds = ptr.To[int32](3)
		r.Spec.Template.Spec.NodeSelector = map[string]string{"no-such-node": "true"}
	})
	g.Expect(env.Client.Create(ctx, ro)).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := getRollout(g, client.ObjectKeyFromObject(ro))
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.RolloutPhaseDegraded), "message: %s", got.Status.Message)
		g.Expect(got.Status.Message).To(ContainSubstring("timed out progressing"))
		g.Expect(conditions.GetReason(got, v1alpha1.RolloutProgressing)).To(Equal(ProgressDeadlineExceededReason))
		g.Expect(conditions.IsFalse(got, meta.ReadyCondition)).To(BeTrue())
		g.Expect(conditions.IsStalled(got)).To(BeTrue())
	}, timeout, 200*time.Millisecond).Should(Succeed())

	suite.Edit(t, env.Client, ro, func(r *v1alpha1.Rollout) { r.Spec.Template.Spec.NodeSelector = nil }, timeout)
	expectHealthy(t, ro, 2)
}
