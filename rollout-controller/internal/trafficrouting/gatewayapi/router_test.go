package gatewayapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/rollout-controller/internal/controller/rollout"
	"github.com/ferrycd/ferry/rollout-controller/internal/trafficrouting/gatewayapi"
	"github.com/ferrycd/ferry/test/suite"
)

func setWeight(w int32) v1alpha1.CanaryStep { return v1alpha1.CanaryStep{SetWeight: ptr.To(w)} }

func pause() v1alpha1.CanaryStep { return v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{}} }

// replicaSet reads the rollout's ReplicaSet of a pod-template hash.
func replicaSet(g Gomega, ro *v1alpha1.Rollout, hash string) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{}
	g.Expect(env.Client.Get(context.Background(),
		client.ObjectKey{Namespace: ro.Namespace, Name: ro.Name + "-" + hash}, rs)).To(Succeed())
	return rs
}

// selectedHash is the pod-template hash Service name selects.
func selectedHash(g Gomega, ns, name string) string {
	svc := &corev1.Service{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, svc)).To(Succeed())
	return svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]
}

// expectRouted checks once that route web in the rollout's namespace gives
// the canary weight percent and the stable the rest, that the /api rule is
// untouched, and that status.canary.weights says so, verified.
func expectRouted(g Gomega, ro *v1alpha1.Rollout, weight int32) *v1alpha1.Rollout {
	got := getRollout(g, ro)
	g.Expect(weights(g, ro.Namespace, "web")).To(Equal(map[string]int32{
		"web-stable": 100 - weight, "web-canary": weight, "api": 7}))
	w := got.Status.Canary.Weights
	g.Expect(w).NotTo(BeNil())
	g.Expect(w.Canary.Weight).To(Equal(weight))
	g.Expect(w.Stable.Weight).To(Equal(100 - weight))
	g.Expect(w.Canary.ServiceName).To(Equal("web-canary"))
	g.Expect(w.Stable.ServiceName).To(Equal("web-stable"))
	g.Expect(w.Verified).To(HaveValue(BeTrue()))
	return got
}

// expectHealthy waits for the rollout to be Healthy and Ready on one
// fully available ReplicaSet with every request on stable, and returns it.
func expectHealthy(t *testing.T, ro *v1alpha1.Rollout) *v1alpha1.Rollout {
	t.Helper()
	var got *v1alpha1.Rollout
	NewWithT(t).Eventually(func(g Gomega) {
		got = expectRouted(g, ro, 0)
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.RolloutPhaseHealthy), "message: %s", got.Status.Message)
		g.Expect(conditions.IsReady(got)).To(BeTrue())
		g.Expect(got.Status.StableRS).To(Equal(got.Status.CurrentPodHash))
		g.Expect(replicaSet(g, got, got.Status.StableRS).Status.AvailableReplicas).To(Equal(int32(4)))
		g.Expect(selectedHash(g, ro.Namespace, "web-stable")).To(Equal(got.Status.StableRS))
	}, timeout, 200*time.Millisecond).Should(Succeed())
	return got
}

// expectPausedAt waits for the rollout to be paused by the pause step at
// index with the route at weight, the canary running canary replicas and
// the stable all 4, and returns it.
func expectPausedAt(t *testing.T, ro *v1alpha1.Rollout, index, weight, canary int32) *v1alpha1.Rollout {
	t.Helper()
	var got *v1alpha1.Rollout
	NewWithT(t).Eventually(func(g Gomega) {
		got = getRollout(g, ro)
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.RolloutPhasePaused), "message: %s", got.Status.Message)
		g.Expect(got.Status.CurrentStepIndex).To(HaveValue(Equal(index)))
		c := replicaSet(g, got, got.Status.CurrentPodHash)
		g.Expect(*c.Spec.Replicas).To(Equal(canary))
		g.Expect(c.Status.AvailableReplicas).To(Equal(canary))
		s := replicaSet(g, got, got.Status.StableRS)
		g.Expect(*s.Spec.Replicas).To(Equal(int32(4)))
		g.Expect(s.Status.AvailableReplicas).To(Equal(int32(4)))
		g.Expect(selectedHash(g, ro.Namespace, "web-canary")).To(Equal(got.Status.CurrentPodHash))
		g.Expect(selectedHash(g, ro.Namespace, "web-stable")).To(Equal(got.Status.StableRS))
		got = expectRouted(g, ro, weight)
	}, timeout, 200*time.Millisecond).Should(Succeed())
	return got
}

// startCanary creates the Services, the route and a healthy rollout with
// steps, then gives it a new image; it returns the rollout and the stable
// hash.
func startCanary(t *testing.T, prefix string, steps ...v1alpha1.CanaryStep) (*v1alpha1.Rollout, string) {
	t.Helper()
	ns := suite.NewNamespace(t, env.Client, prefix)
	newServices(t, ns)
	newRoute(t, ns, "web", "web-stable", "web-canary")
	ro := newRollout(ns, "web", steps...)
	NewWithT(t).Expect(env.Client.Create(context.Background(), ro)).To(Succeed())
	got := expectHealthy(t, ro)
	suite.Edit(t, env.Client, got, func(r *v1alpha1.Rollout) {
		r.Spec.Template.Spec.Containers[0].Image = "web:2"
	}, timeout)
	return ro, got.Status.StableRS
}

// TestCanaryHTTPRouteWeights: a canary through every step with the
// weights in an HTTPRoute: at each pause the route sends the step's weight
// to the canary Service and the rest to stable while the canary runs its
// share of the replicas and the stable all of them; a reconcile at a
// weight already written does not write the route again; after the last
// promote the canary is stable, the stable Service selects it and the
// route sends it everything through the stable Service. The /api rule of
// the route is never touched.
func TestCanaryHTTPRouteWeights(t *testing.T) {
	g := NewWithT(t)
	ro, stable := startCanary(t, "route-steps-",
		setWeight(20), pause(), setWeight(50), pause(), setWeight(100), pause())

	got := expectPausedAt(t, ro, 1, 20, 1)
	canary := got.Status.CurrentPodHash
	g.Expect(canary).NotTo(Equal(stable))
	g.Expect(got.Status.Canary.Weights.Canary.PodTemplateHash).To(Equal(canary))
	g.Expect(got.Status.Canary.Weights.Stable.PodTemplateHash).To(Equal(stable))

	// Already at the weight: another reconcile leaves the route alone.
	version := getRoute(g, ro.Namespace, "web").ResourceVersion
	token := suite.RequestReconcile(t, env.Client, ro, timeout)
	g.Eventually(func(g Gomega) {
		g.Expect(getRollout(g, ro).Status.LastHandledReconcileAt).To(Equal(token))
	}, timeout, 100*time.Millisecond).Should(Succeed())
	g.Expect(getRoute(g, ro.Namespace, "web").ResourceVersion).To(Equal(version))

	for _, step := range []struct{ index, weight, canary int32 }{{3, 50, 2}, {5, 100, 4}} {
		patchStatus(t, ro, `{"status":{"pauseConditions":null}}`)
		expectPausedAt(t, ro, step.index, step.weight, step.canary)
	}

	patchStatus(t, ro, `{"status":{"pauseConditions":null}}`)
	got = expectHealthy(t, ro)
	g.Expect(got.Status.StableRS).To(Equal(canary))
	g.Expect(selectedHash(g, ro.Namespace, "web-canary")).To(Equal(canary))
	g.Eventually(func(g Gomega) {
		g.Expect(*replicaSet(g, got, stable).Spec.Replicas).To(BeZero())
	}, timeout).Should(Succeed())

	// Each change of the weight is an event, as Argo Rollouts records it.
	g.Eventually(func(g Gomega) {
		g.Expect(weightEvents(g, ro)).To(ContainElements(
			"Traffic weight updated from 0 to 20", "Traffic weight updated from 20 to 50",
			"Traffic weight updated from 50 to 100", "Traffic weight updated from 100 to 0"))
	}, timeout).Should(Succeed())
}

// weightEvents are the messages of the rollout's TrafficWeightUpdated
// events.
func weightEvents(g Gomega, ro *v1alpha1.Rollout) []string {
	var events corev1.EventList
	g.Expect(env.Client.List(context.Background(), &events, client.InNamespace(ro.Namespace))).To(Succeed())
	var out []string
	for _, e := range events.Items {
		if e.InvolvedObject.Name == ro.Name && e.Type == corev1.EventTypeNormal && e.Reason == rollout.TrafficWeightUpdatedReason {
			out = append(out, e.Message)
		}
	}
	return out
}

// TestCanaryHTTPRouteAbort: an abort returns all of the route's traffic to
// the stable Service and scales the canary down.
func TestCanaryHTTPRouteAbort(t *testing.T) {
	g := NewWithT(t)
	ro, stable := startCanary(t, "route-abort-", setWeight(50), pause())
	got := expectPausedAt(t, ro, 1, 50, 2)
	canary := got.Status.CurrentPodHash

	patchStatus(t, ro, `{"status":{"abort":true}}`)
	g.Eventually(func(g Gomega) {
		got := expectRouted(g, ro, 0)
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.RolloutPhaseDegraded))
		g.Expect(conditions.GetReason(got, meta.ReadyCondition)).To(Equal(rollout.AbortedReason))
		g.Expect(got.Status.StableRS).To(Equal(stable))
		g.Expect(*replicaSet(g, got, canary).Spec.Replicas).To(BeZero())
		g.Expect(replicaSet(g, got, stable).Status.AvailableReplicas).To(Equal(int32(4)))
		g.Expect(selectedHash(g, ro.Namespace, "web-canary")).To(Equal(stable))
	}, timeout, 200*time.Millisecond).Should(Succeed())
}

// expectRoutingError waits for the rollout to be Ready False with the
// router's reason and a message that contains msg.
func expectRoutingError(t *testing.T, ro *v1alpha1.Rollout, msg string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		ready := conditions.Get(getRollout(g, ro), meta.ReadyCondition)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(gatewayapi.TrafficRoutingErrorReason))
		g.Expect(ready.Message).To(ContainSubstring(msg))
	}, timeout, 200*time.Millisecond).Should(Succeed())
}

// TestHTTPRouteMissing: a rollout whose HTTPRoute does not exist, and then
// lacks the canary's backend, is Ready False with a message that says what
// to create; once the route is complete the rollout is found again (routes
// are not watched) and becomes Healthy.
func TestHTTPRouteMissing(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := suite.NewNamespace(t, env.Client, "route-missing-")
	newServices(t, ns)
	ro := newRollout(ns, "web", setWeight(50), pause())
	g.Expect(env.Client.Create(ctx, ro)).To(Succeed())
	expectRoutingError(t, ro, fmt.Sprintf(
		"HTTPRoute %s/web not found: create it with backendRefs to Services web-stable and web-canary", ns))

	route := newRoute(t, ns, "web", "web-stable")
	expectRoutingError(t, ro, fmt.Sprintf("HTTPRoute %s/web has no backendRef to Service %s/web-canary", ns, ns))

	suite.Edit(t, env.Client, route, func(r *gatewayv1.HTTPRoute) {
		r.Spec.Rules[0].BackendRefs = append(r.Spec.Rules[0].BackendRefs, backendRef("web-canary", 30))
	}, timeout)
	expectHealthy(t, ro)
}

// TestCrossNamespaceRoute: an HTTPRoute in another namespace (with
// backendRefs into the rollout's) gets the weights, unless cross-namespace
// references are disabled, which refuses it without touching the route.
func TestCrossNamespaceRoute(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	app := suite.NewNamespace(t, env.Client, "route-app-")
	gw := suite.NewNamespace(t, env.Client, "route-gw-")
	route := &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: "shared", Namespace: gw},
		Spec: gatewayv1.HTTPRouteSpec{Rules: []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{
			backendRef("web-stable", 100), backendRef("web-canary", 0)}}}},
	}
	for i := range route.Spec.Rules[0].BackendRefs {
		route.Spec.Rules[0].BackendRefs[i].Namespace = ptr.To(gatewayv1.Namespace(app))
	}
	g.Expect(env.Client.Create(ctx, route)).To(Succeed())
	ro := newRollout(app, "shared")
	ro.Spec.Strategy.Canary.TrafficRouting = pluginConfig(fmt.Sprintf(`{"httpRoute": "shared", "namespace": %q}`, gw))
	shared := func(g Gomega) map[string]int32 { return weights(g, gw, "shared") }

	_, err := (&gatewayapi.Router{Client: routes, NoCrossNamespaceRefs: true}).SetWeight(ctx, ro, 30)
	g.Expect(err).To(MatchError(ContainSubstring(
		fmt.Sprintf("HTTPRoutes in namespace %s are not allowed: cross-namespace references are disabled", gw))))
	g.Expect(outcome.As(err, "")).To(HaveField("Kind", outcome.Stall))
	g.Expect(outcome.As(err, "").Reason).To(Equal(gatewayapi.AccessDeniedReason))
	g.Expect(shared(g)).To(Equal(map[string]int32{"web-stable": 100, "web-canary": 0}))

	router := &gatewayapi.Router{Client: routes}
	verified, err := router.SetWeight(ctx, ro, 30)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(verified).To(BeTrue())
	g.Expect(shared(g)).To(Equal(map[string]int32{"web-stable": 70, "web-canary": 30}))
	version := getRoute(g, gw, "shared").ResourceVersion
	verified, err = router.SetWeight(ctx, ro, 30)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(verified).To(BeTrue())
	g.Expect(getRoute(g, gw, "shared").ResourceVersion).To(Equal(version))
}

// TestUnservedRoutingIsRefused: the plugins and plugin fields Ferry does
// not serve are not in the schema, so the API server refuses a manifest
// with them (as kubectl apply sends it, with strict field validation)
// instead of the controller ignoring them; the served ones are accepted.
func TestUnservedRoutingIsRefused(t *testing.T) {
	ctx := context.Background()
	ns := suite.NewNamespace(t, env.Client, "route-schema-")
	create := func(name, plugins string) error {
		ro := newRollout(ns, "web", setWeight(50), pause())
		ro.Name = name
		u := map[string]any{}
		data, err := json.Marshal(ro)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &u); err != nil {
			t.Fatal(err)
		}
		var p any
		if err := json.Unmarshal([]byte(plugins), &p); err != nil {
			t.Fatal(err)
		}
		u["apiVersion"], u["kind"] = v1alpha1.GroupVersion.String(), "Rollout"
		u["spec"].(map[string]any)["strategy"].(map[string]any)["canary"].(map[string]any)["trafficRouting"] = map[string]any{"plugins": p}
		return env.Client.Create(ctx, &unstructured.Unstructured{Object: u}, client.FieldValidation("Strict"))
	}
	for name, plugins := range map[string]string{
		"grpc":    `{"argoproj-labs/gatewayAPI": {"httpRoute": "web", "grpcRoute": "web"}}`,
		"contour": `{"argoproj-labs/contour": {"httpProxy": "web"}}`,
		"none":    `{}`,
	} {
		t.Run(name, func(t *testing.T) {
			NewWithT(t).Expect(create(name, plugins)).To(HaveOccurred())
		})
	}
	g := NewWithT(t)
	err := create("grpc2", `{"argoproj-labs/gatewayAPI": {"httpRoute": "web", "grpcRoute": "web"}}`)
	g.Expect(err).To(MatchError(ContainSubstring(`unknown field "spec.strategy.canary.trafficRouting.plugins.argoproj-labs/gatewayAPI.grpcRoute"`)))
	g.Expect(create("served", `{"argoproj-labs/gatewayAPI": {"httpRoute": "web", "namespace": "`+ns+`", "httpRoutes": [{"name": "web", "useHeaderRoutes": true}]}}`)).To(Succeed())
}
