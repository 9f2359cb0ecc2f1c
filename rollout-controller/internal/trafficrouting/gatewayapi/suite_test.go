package gatewayapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/rollout-controller/internal/controller/rollout"
	"github.com/ferrycd/ferry/rollout-controller/internal/trafficrouting/gatewayapi"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/suite"
)

var (
	env *cluster.Cluster
	// routes is the router's own client (no cache), for tests that call
	// the router directly.
	routes client.Client
)

// timeout bounds every wait for pods: on the kwok node a pod is Ready
// about a second after it is created.
const timeout = 60 * time.Second

// retry is the router's RetryInterval here: how soon a rollout looks for
// its route again.
const retry = time.Second

// TestMain starts one full-mode cluster with the Gateway API's HTTPRoute
// CRD from its module, and the Rollout reconciler with the Gateway API
// router, wired as the binary wires them.
func TestMain(m *testing.M) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	utilruntime.Must(gatewayv1.Install(scheme))
	crds, err := cluster.GatewayAPICRDs()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	opts := suite.Options{Mode: cluster.Full, Scheme: scheme, Controller: "rollout-controller", NoRateLimit: true, CRDs: crds}
	os.Exit(suite.Run(m, opts, func(e *suite.Env) error {
		env = e.Cluster
		var err error
		routes, err = gatewayapi.NewClient(e.Manager.GetConfig(), e.Manager.GetHTTPClient(), e.Manager.GetRESTMapper())
		if err != nil {
			return err
		}
		r := &rollout.Reconciler{
			Client:    e.Manager.GetClient(),
			APIReader: e.Manager.GetAPIReader(),
			Finisher:  outcome.Finisher{Scheme: scheme, Recorder: e.Recorder, OwnedConditions: rollout.OwnedConditions},
			Traffic:   &gatewayapi.Router{Client: routes, RetryInterval: retry},
		}
		return r.SetupWithManager(e.Ctx, e.Manager)
	}))
}

// pluginConfig is the rollout's trafficRouting for the Gateway API plugin.
func pluginConfig(cfg string) *v1alpha1.RolloutTrafficRouting {
	plugin := &v1alpha1.GatewayAPITrafficRouting{}
	if err := json.Unmarshal([]byte(cfg), plugin); err != nil {
		panic(err)
	}
	return &v1alpha1.RolloutTrafficRouting{Plugins: v1alpha1.TrafficRoutingPlugins{GatewayAPI: plugin}}
}

// newRollout is a 4-replica canary rollout "web" in ns, with the web-stable
// and web-canary Services, routed through HTTPRoute route.
func newRollout(ns, route string, steps ...v1alpha1.CanaryStep) *v1alpha1.Rollout {
	zero := intstr.FromInt32(0)
	labels := map[string]string{"app": "web"}
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](4),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:1"}}},
			},
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
				Steps: steps, MaxUnavailable: &zero,
				StableService: "web-stable", CanaryService: "web-canary",
				TrafficRouting: pluginConfig(fmt.Sprintf(`{"httpRoute": %q}`, route)),
			}},
		},
	}
}

// newServices creates the web-stable and web-canary Services in ns.
func newServices(t *testing.T, ns string) {
	t.Helper()
	for _, name := range []string{"web-stable", "web-canary"} {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
				Ports: []corev1.ServicePort{{Port: 80}}},
		}
		NewWithT(t).Expect(env.Client.Create(context.Background(), svc)).To(Succeed())
	}
}

// backendRef is a route backend to Service name on port 80.
func backendRef(name string, weight int32) gatewayv1.HTTPBackendRef {
	return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
		BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(name), Port: ptr.To[gatewayv1.PortNumber](80)},
		Weight:                 ptr.To(weight),
	}}
}

// newRoute creates HTTPRoute name in ns: its first rule has backends to
// the given Services (all traffic on the first), and a second rule sends
// /api to another Service, which no rollout touches.
func newRoute(t *testing.T, ns, name string, services ...string) *gatewayv1.HTTPRoute {
	t.Helper()
	var refs []gatewayv1.HTTPBackendRef
	for i, svc := range services {
		w := int32(0)
		if i == 0 {
			w = 100
		}
		refs = append(refs, backendRef(svc, w))
	}
	route := &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gateway"}}},
			Rules: []gatewayv1.HTTPRouteRule{
				{BackendRefs: refs},
				{
					Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{
						Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To("/api")}}},
					BackendRefs: []gatewayv1.HTTPBackendRef{backendRef("api", 7)},
				},
			},
		},
	}
	NewWithT(t).Expect(env.Client.Create(context.Background(), route)).To(Succeed())
	return route
}

// getRoute reads an HTTPRoute.
func getRoute(g Gomega, ns, name string) *gatewayv1.HTTPRoute {
	route := &gatewayv1.HTTPRoute{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, route)).To(Succeed())
	return route
}

// weights are the weights of the first rule's backends by Service name,
// and the untouched /api rule's.
func weights(g Gomega, ns, name string) map[string]int32 {
	route := getRoute(g, ns, name)
	out := map[string]int32{}
	for _, rule := range route.Spec.Rules {
		for _, ref := range rule.BackendRefs {
			out[string(ref.Name)] = ptr.Deref(ref.Weight, 1)
		}
	}
	return out
}

// getRollout reads the rollout.
func getRollout(g Gomega, ro *v1alpha1.Rollout) *v1alpha1.Rollout {
	got := &v1alpha1.Rollout{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(ro), got)).To(Succeed())
	return got
}

// patchStatus applies a merge patch to the rollout's status, as the
// kubectl plugin does to promote and abort.
func patchStatus(t *testing.T, ro *v1alpha1.Rollout, patch string) {
	t.Helper()
	NewWithT(t).Expect(env.Client.Status().Patch(context.Background(), ro.DeepCopy(),
		client.RawPatch(types.MergePatchType, []byte(patch)))).To(Succeed())
}
