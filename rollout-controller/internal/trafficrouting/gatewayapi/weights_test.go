package gatewayapi

import (
	"encoding/json"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// ref is a backendRef to a Service; weight nil leaves it unset.
func ref(name string, weight *int32) gatewayv1.HTTPBackendRef {
	return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
		BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(name), Port: ptr.To[gatewayv1.PortNumber](80)},
		Weight:                 weight,
	}}
}

func route(rules ...[]gatewayv1.HTTPBackendRef) *gatewayv1.HTTPRoute {
	r := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}}
	for _, refs := range rules {
		r.Spec.Rules = append(r.Spec.Rules, gatewayv1.HTTPRouteRule{BackendRefs: refs})
	}
	return r
}

func TestRewrite(t *testing.T) {
	b := backend{Namespace: "shop", Stable: "web-stable", Canary: "web-canary"}
	otherNS := ref("web-canary", ptr.To[int32](7))
	otherNS.Namespace = ptr.To[gatewayv1.Namespace]("elsewhere")
	notService := ref("web-stable", ptr.To[int32](7))
	notService.Kind = ptr.To[gatewayv1.Kind]("ServiceImport")
	notService.Group = ptr.To[gatewayv1.Group]("multicluster.x-k8s.io")
	tests := []struct {
		name    string
		route   *gatewayv1.HTTPRoute
		weight  int32
		want    []change
		wantErr string
	}{{
		name:   "a fresh route gets both weights",
		route:  route([]gatewayv1.HTTPBackendRef{ref("web-stable", ptr.To[int32](1)), ref("web-canary", nil)}),
		weight: 20,
		want:   []change{{Rule: 0, Ref: 0, Name: "web-stable", Weight: 80}, {Rule: 0, Ref: 1, Name: "web-canary", Weight: 20}},
	}, {
		name:   "already at the weights: nothing to write",
		route:  route([]gatewayv1.HTTPBackendRef{ref("web-stable", ptr.To[int32](50)), ref("web-canary", ptr.To[int32](50))}),
		weight: 50,
	}, {
		name:   "only the backend that differs is written",
		route:  route([]gatewayv1.HTTPBackendRef{ref("web-stable", ptr.To[int32](0)), ref("web-canary", ptr.To[int32](50))}),
		weight: 50,
		want:   []change{{Rule: 0, Ref: 0, Name: "web-stable", Weight: 50}},
	}, {
		name: "other rules and backends are left alone; every rule with the Services gets the weights",
		route: route(
			[]gatewayv1.HTTPBackendRef{ref("api", ptr.To[int32](3))},
			[]gatewayv1.HTTPBackendRef{ref("mirror", ptr.To[int32](5)), ref("web-canary", ptr.To[int32](0)), ref("web-stable", ptr.To[int32](100))},
			[]gatewayv1.HTTPBackendRef{ref("web-stable", ptr.To[int32](100))},
		),
		weight: 100,
		want: []change{
			{Rule: 1, Ref: 1, Name: "web-canary", Weight: 100},
			{Rule: 1, Ref: 2, Name: "web-stable", Weight: 0},
			{Rule: 2, Ref: 0, Name: "web-stable", Weight: 0},
		},
	}, {
		name:   "back to stable",
		route:  route([]gatewayv1.HTTPBackendRef{ref("web-stable", ptr.To[int32](50)), ref("web-canary", ptr.To[int32](50))}),
		weight: 0,
		want:   []change{{Rule: 0, Ref: 0, Name: "web-stable", Weight: 100}, {Rule: 0, Ref: 1, Name: "web-canary", Weight: 0}},
	}, {
		name:    "no canary backend",
		route:   route([]gatewayv1.HTTPBackendRef{ref("web-stable", ptr.To[int32](100))}),
		weight:  20,
		wantErr: "HTTPRoute shop/web has no backendRef to Service shop/web-canary: add backendRefs to both the stableService web-stable and the canaryService web-canary",
	}, {
		name:    "no rules at all",
		route:   route(),
		weight:  20,
		wantErr: "no backendRef to Service shop/web-stable",
	}, {
		name:    "a Service of the same name in another namespace, or another kind, is not the rollout's",
		route:   route([]gatewayv1.HTTPBackendRef{notService, otherNS, ref("web-stable", ptr.To[int32](100))}),
		weight:  20,
		wantErr: "no backendRef to Service shop/web-canary",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := rewrite(tt.route, b, tt.weight)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tt.want))
		})
	}
}

func TestRewriteCrossNamespaceRoute(t *testing.T) {
	g := NewWithT(t)
	b := backend{Namespace: "shop", Stable: "web-stable", Canary: "web-canary"}
	stable, canary := ref("web-stable", nil), ref("web-canary", nil)
	stable.Namespace = ptr.To[gatewayv1.Namespace]("shop")
	canary.Namespace = ptr.To[gatewayv1.Namespace]("shop")
	r := route([]gatewayv1.HTTPBackendRef{stable, canary})
	r.Namespace = "gateways"
	got, err := rewrite(r, b, 30)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(Equal([]change{{Rule: 0, Ref: 0, Name: "web-stable", Weight: 70}, {Rule: 0, Ref: 1, Name: "web-canary", Weight: 30}}))
}

func TestJSONPatch(t *testing.T) {
	g := NewWithT(t)
	data, err := jsonPatch([]change{{Rule: 1, Ref: 2, Name: "web-canary", Weight: 20}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(data)).To(MatchJSON(`[
		{"op":"test","path":"/spec/rules/1/backendRefs/2/name","value":"web-canary"},
		{"op":"add","path":"/spec/rules/1/backendRefs/2/weight","value":20}]`))
}

// routed is a canary rollout in namespace shop whose Gateway API plugin
// has the configuration cfg (JSON, as written in a manifest; "" for none).
func routed(t *testing.T, cfg string) *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}}
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{StableService: "web-stable", CanaryService: "web-canary",
		TrafficRouting: &v1alpha1.RolloutTrafficRouting{}}
	if cfg != "" {
		plugin := &v1alpha1.GatewayAPITrafficRouting{}
		if err := json.Unmarshal([]byte(cfg), plugin); err != nil {
			t.Fatal(err)
		}
		ro.Spec.Strategy.Canary.TrafficRouting.Plugins.GatewayAPI = plugin
	}
	return ro
}

func TestConfigOf(t *testing.T) {
	tests := []struct {
		name      string
		ro        *v1alpha1.Rollout
		wantNames []string
		wantNS    string
		wantErr   string
	}{
		{name: "httpRoute and namespace", ro: routed(t, `{"httpRoute":"web","namespace":"gw"}`),
			wantNames: []string{"web"}, wantNS: "gw"},
		{name: "httpRoutes, each once", ro: routed(t, `{"httpRoute":"a","httpRoutes":[{"name":"a"},{"name":"b","useHeaderRoutes":true}]}`),
			wantNames: []string{"a", "b"}},
		{name: "no route", ro: routed(t, `{"namespace":"gw"}`), wantErr: "names no HTTPRoute"},
		{name: "no plugin", ro: routed(t, ""), wantErr: "configures no router"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			cfg, err := ConfigOf(tt.ro)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				g.Expect(outcome.As(err, "").Kind).To(Equal(outcome.Stall))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(cfg.names()).To(Equal(tt.wantNames))
			g.Expect(cfg.Namespace).To(Equal(tt.wantNS))
		})
	}

	// Routing needs both Services.
	g := NewWithT(t)
	ro := routed(t, `{"httpRoute":"web"}`)
	ro.Spec.Strategy.Canary.CanaryService = ""
	_, err := ConfigOf(ro)
	g.Expect(err).To(MatchError(ContainSubstring("needs both spec.strategy.canary.stableService and canaryService")))
}
