package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/test/suite"
)

// TestBinaryRollsBackOnFailedAnalysis: the binary, under its own RBAC,
// creates the AnalysisRun of a canary's analysis step from a namespaced
// and a cluster template, measures it against a loopback endpoint that
// reports a failing error rate, and aborts: the canary is scaled to zero
// and the rollout is Degraded with a message naming the run and the value.
func TestBinaryRollsBackOnFailedAnalysis(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"rate": 0.31}`))
	}))
	t.Cleanup(srv.Close)
	startController(t)
	ns := suite.NewNamespace(t, env.Client, "analysis-binary-")

	metric := func(name string) v1alpha1.Metric {
		return v1alpha1.Metric{Name: name, SuccessCondition: "result < 0.05",
			Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: srv.URL, JSONPath: "{$.rate}"}}}
	}
	g.Expect(env.Client.Create(ctx, &v1alpha1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "error-rate"},
		Spec: v1alpha1.AnalysisTemplateSpec{Metrics: []v1alpha1.Metric{metric("error-rate")}}})).To(Succeed())
	cat := &v1alpha1.ClusterAnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: ns + "-errors"},
		Spec: v1alpha1.AnalysisTemplateSpec{Metrics: []v1alpha1.Metric{metric("cluster-error-rate")}}}
	g.Expect(env.Client.Create(ctx, cat)).To(Succeed())
	t.Cleanup(func() { _ = env.Client.Delete(ctx, cat) })

	ro := canaryRollout(ns,
		v1alpha1.CanaryStep{SetWeight: ptr.To[int32](50)},
		v1alpha1.CanaryStep{Analysis: &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.AnalysisTemplateRef{
			{TemplateName: "error-rate"}, {TemplateName: cat.Name, ClusterScope: true}}}},
	)
	g.Expect(env.Client.Create(ctx, ro)).To(Succeed())
	key := client.ObjectKeyFromObject(ro)
	get := func(g Gomega) *v1alpha1.Rollout {
		got := &v1alpha1.Rollout{}
		g.Expect(env.Client.Get(ctx, key, got)).To(Succeed())
		return got
	}
	var stable string
	g.Eventually(func(g Gomega) {
		got := get(g)
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.RolloutPhaseHealthy))
		stable = got.Status.StableRS
	}, time.Minute, 200*time.Millisecond).Should(Succeed())

	suite.Edit(t, env.Client, ro, func(r *v1alpha1.Rollout) {
		r.Spec.Template.Spec.Containers[0].Image = "web:2"
	}, time.Minute)
	g.Eventually(func(g Gomega) {
		got := get(g)
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.RolloutPhaseDegraded), "message: %s", got.Status.Message)
		s := got.Status.Canary.CurrentStepAnalysisRunStatus
		g.Expect(s).NotTo(BeNil())
		g.Expect(s.Status).To(Equal(v1alpha1.AnalysisPhaseFailed))
		g.Expect(s.Name).To(Equal("web-" + got.Status.CurrentPodHash + "-2-1"))
		g.Expect(got.Status.Message).To(And(ContainSubstring("AnalysisRun "+s.Name), ContainSubstring("0.31")))
		g.Expect(got.Status.StableRS).To(Equal(stable))
		canary := &appsv1.ReplicaSet{}
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web-" + got.Status.CurrentPodHash}, canary)).To(Succeed())
		g.Expect(*canary.Spec.Replicas).To(BeZero())
		run := &v1alpha1.AnalysisRun{}
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: s.Name}, run)).To(Succeed())
		g.Expect(run.Spec.Metrics).To(HaveLen(2))
	}, time.Minute, 200*time.Millisecond).Should(Succeed())
}

// canaryRollout is a 2-replica Rollout web of image web:1 with the canary
// steps.
func canaryRollout(ns string, steps ...v1alpha1.CanaryStep) *v1alpha1.Rollout {
	tmpl := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:1"}}},
	}
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: &tmpl,
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{Steps: steps}},
		},
	}
}
