package main

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/test/suite"
)

// TestBinaryRoutesHTTPRoute: the binary, under its own RBAC, writes a
// canary's weights to the HTTPRoute the Argo Rollouts Gateway API plugin
// configuration names (50 at the pause), and after the promote sends all
// of the route's traffic to the stable Service again.
func TestBinaryRoutesHTTPRoute(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	scheme := runtime.NewScheme()
	g.Expect(gatewayv1.Install(scheme)).To(Succeed())
	routes, err := client.New(env.Config, client.Options{Scheme: scheme})
	g.Expect(err).NotTo(HaveOccurred())
	startController(t)
	ns := suite.NewNamespace(t, env.Client, "binary-route-")

	for _, svc := range []string{"web-stable", "web-canary"} {
		g.Expect(env.Client.Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: svc, Namespace: ns},
			Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}},
		})).To(Succeed())
	}
	ref := func(name string, w int32) gatewayv1.HTTPBackendRef {
		return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
			BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(name), Port: ptr.To[gatewayv1.PortNumber](80)},
			Weight:                 ptr.To(w)}}
	}
	route := &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: gatewayv1.HTTPRouteSpec{Rules: []gatewayv1.HTTPRouteRule{{
			BackendRefs: []gatewayv1.HTTPBackendRef{ref("web-stable", 100), ref("web-canary", 0)}}}},
	}
	g.Expect(routes.Create(ctx, route)).To(Succeed())
	routeWeights := func(g Gomega) []int32 {
		got := &gatewayv1.HTTPRoute{}
		g.Expect(routes.Get(ctx, client.ObjectKeyFromObject(route), got)).To(Succeed())
		var out []int32
		for _, r := range got.Spec.Rules[0].BackendRefs {
			out = append(out, ptr.Deref(r.Weight, 1))
		}
		return out
	}

	ro := &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:1"}}},
			},
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
				StableService: "web-stable", CanaryService: "web-canary",
				TrafficRouting: &v1alpha1.RolloutTrafficRouting{Plugins: v1alpha1.TrafficRoutingPlugins{
					GatewayAPI: &v1alpha1.GatewayAPITrafficRouting{HTTPRoute: "web"}}},
				Steps: []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](50)}, {Pause: &v1alpha1.RolloutPause{}}},
			}},
		},
	}
	g.Expect(env.Client.Create(ctx, ro)).To(Succeed())
	get := func(g Gomega) *v1alpha1.Rollout {
		got := &v1alpha1.Rollout{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ro), got)).To(Succeed())
		return got
	}
	g.Eventually(func(g Gomega) {
		g.Expect(get(g).Status.Phase).To(Equal(v1alpha1.RolloutPhaseHealthy), "message: %s", get(g).Status.Message)
	}, time.Minute, 200*time.Millisecond).Should(Succeed())

	suite.Edit(t, env.Client, ro, func(r *v1alpha1.Rollout) {
		r.Spec.Template.Spec.Containers[0].Image = "web:2"
	}, time.Minute)
	var paused *v1alpha1.Rollout
	g.Eventually(func(g Gomega) {
		paused = get(g)
		g.Expect(paused.Status.Phase).To(Equal(v1alpha1.RolloutPhasePaused), "message: %s", paused.Status.Message)
		g.Expect(routeWeights(g)).To(Equal([]int32{50, 50}))
		g.Expect(paused.Status.Canary.Weights).NotTo(BeNil())
		g.Expect(paused.Status.Canary.Weights.Verified).To(HaveValue(BeTrue()))
	}, time.Minute, 200*time.Millisecond).Should(Succeed())

	g.Expect(env.Client.Status().Patch(ctx, paused,
		client.RawPatch(types.MergePatchType, []byte(`{"status":{"pauseConditions":null}}`)))).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := get(g)
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.RolloutPhaseHealthy), "message: %s", got.Status.Message)
		g.Expect(got.Status.StableRS).To(Equal(paused.Status.CurrentPodHash))
		g.Expect(routeWeights(g)).To(Equal([]int32{100, 0}))
	}, time.Minute, 200*time.Millisecond).Should(Succeed())
}
