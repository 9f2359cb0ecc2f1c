// Package gatewayapi is the rollout-controller's traffic router for the
// Gateway API: a canary's weight is written to the backendRefs of the
// HTTPRoutes a Rollout names, configured exactly as Argo Rollouts' Gateway
// API plugin is, so the same manifests work:
//
//	trafficRouting:
//	  plugins:
//	    argoproj-labs/gatewayAPI:
//	      httpRoute: web          # or httpRoutes: [{name: web}, ...]
//	      namespace: web          # the rollout's namespace when unset
//
// Argo Rollouts runs the plugin as a separate binary it downloads and
// talks to over RPC; here it is a package in the controller, with the
// controller's RBAC, so there is nothing to download or configure.
//
// Routes are read from and patched on the API server directly, not
// through a cache: a rollout reads only the routes it names, a cache would
// watch every HTTPRoute of the cluster, and a cluster without the Gateway
// API CRDs must still run the controller for rollouts without routing.
package gatewayapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes,verbs=get;patch

// PluginName is the key of spec.strategy.canary.trafficRouting.plugins
// that Argo Rollouts' Gateway API plugin is configured under.
const PluginName = "argoproj-labs/gatewayAPI"

// Reasons of the Ready condition when routing fails.
const (
	// TrafficRoutingErrorReason: a named HTTPRoute is missing, or cannot
	// split traffic between the stable and canary Services. Argo Rollouts
	// records its router errors under this reason.
	TrafficRoutingErrorReason = "TrafficRoutingError"
	// InvalidConfigReason: the plugin configuration cannot be served.
	InvalidConfigReason = "InvalidSpec"
	// AccessDeniedReason: the HTTPRoute is in another namespace and
	// --no-cross-namespace-refs is set.
	AccessDeniedReason = "AccessDenied"
)

// DefaultRetryInterval is how soon a rollout whose route is missing or
// incomplete is looked at again: routes are not watched, so a fixed route
// is found on the next look.
const DefaultRetryInterval = 10 * time.Second

// Config is the plugin's configuration: the fields of Argo Rollouts'
// Gateway API plugin that apply to HTTP weights. The CRD's schema holds
// only these, so the API server refuses the plugin's other fields (gRPC,
// TCP and TLS routes, route selectors, header routes' config map) and
// other plugins.
type Config struct {
	v1alpha1.GatewayAPITrafficRouting
}

// names are the HTTPRoutes the configuration names, each once.
func (c Config) names() []string {
	var out []string
	seen := map[string]bool{}
	names := []string{c.HTTPRoute}
	for _, r := range c.HTTPRoutes {
		names = append(names, r.Name)
	}
	for _, n := range names {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// ConfigOf reads the Gateway API plugin's configuration of a rollout. A
// rollout with no route to write to stalls with InvalidSpec.
func ConfigOf(ro *v1alpha1.Rollout) (Config, error) {
	var cfg Config
	c := ro.Spec.Strategy.Canary
	if c == nil || c.TrafficRouting == nil {
		return cfg, outcome.StallErr(InvalidConfigReason, errors.New("spec.strategy.canary.trafficRouting is not set"))
	}
	plugin := c.TrafficRouting.Plugins.GatewayAPI
	if plugin == nil {
		return cfg, outcome.StallErr(InvalidConfigReason, fmt.Errorf(
			"spec.strategy.canary.trafficRouting configures no router: set plugins[%q].httpRoute", PluginName))
	}
	cfg.GatewayAPITrafficRouting = *plugin
	if len(cfg.names()) == 0 {
		return cfg, outcome.StallErr(InvalidConfigReason, fmt.Errorf(
			"spec.strategy.canary.trafficRouting.plugins[%q] names no HTTPRoute: set httpRoute", PluginName))
	}
	if c.StableService == "" || c.CanaryService == "" {
		return cfg, outcome.StallErr(InvalidConfigReason, errors.New(
			"traffic routing needs both spec.strategy.canary.stableService and canaryService: the HTTPRoute splits traffic between them"))
	}
	return cfg, nil
}

// Router sets canary weights in HTTPRoutes. It implements the
// rollout-controller's TrafficRouter.
type Router struct {
	// Client reads and patches HTTPRoutes on the API server; NewClient
	// makes one.
	Client client.Client
	// NoCrossNamespaceRefs refuses an HTTPRoute outside the rollout's
	// namespace.
	NoCrossNamespaceRefs bool
	// RetryInterval is how soon a rollout whose route is missing or
	// incomplete is looked at again; DefaultRetryInterval when zero.
	RetryInterval time.Duration
}

// NewClient is a client for HTTPRoutes that goes to the API server for
// every request (no cache), on the manager's config and HTTP client.
func NewClient(cfg *rest.Config, httpClient *http.Client, mapper meta.RESTMapper) (client.Client, error) {
	scheme := runtime.NewScheme()
	if err := gatewayv1.Install(scheme); err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: scheme, HTTPClient: httpClient, Mapper: mapper})
}

// SetWeight gives the canaryService weight percent of the traffic of every
// HTTPRoute the rollout names and the stableService the rest. A route
// already at the weights is not written. verified is true when every
// route in the API server carries the weights.
func (r *Router) SetWeight(ctx context.Context, ro *v1alpha1.Rollout, weight int32) (bool, error) {
	cfg, err := ConfigOf(ro)
	if err != nil {
		return false, err
	}
	ns := cfg.Namespace
	if ns == "" {
		ns = ro.Namespace
	}
	if r.NoCrossNamespaceRefs && ns != ro.Namespace {
		return false, outcome.StallErr(AccessDeniedReason, fmt.Errorf(
			"HTTPRoutes in namespace %s are not allowed: cross-namespace references are disabled on this controller; move the route into namespace %s or unset plugins[%q].namespace",
			ns, ro.Namespace, PluginName))
	}
	c := ro.Spec.Strategy.Canary
	b := backend{Namespace: ro.Namespace, Stable: c.StableService, Canary: c.CanaryService}
	verified := true
	for _, name := range cfg.names() {
		ok, err := r.setRoute(ctx, types.NamespacedName{Namespace: ns, Name: name}, b, weight)
		if err != nil {
			return false, err
		}
		verified = verified && ok
	}
	return verified, nil
}

// setRoute brings one HTTPRoute to the weights.
func (r *Router) setRoute(ctx context.Context, key types.NamespacedName, b backend, weight int32) (bool, error) {
	route := &gatewayv1.HTTPRoute{}
	if err := r.Client.Get(ctx, key, route); err != nil {
		return false, r.readErr(key, b, err)
	}
	changes, err := rewrite(route, b, weight)
	if err != nil {
		return false, outcome.WaitErr(TrafficRoutingErrorReason, r.retryInterval(), err)
	}
	if len(changes) == 0 {
		return true, nil
	}
	data, err := jsonPatch(changes)
	if err != nil {
		return false, err
	}
	if err := r.Client.Patch(ctx, route, client.RawPatch(types.JSONPatchType, data)); err != nil {
		if apierrors.IsNotFound(err) {
			return false, r.readErr(key, b, err)
		}
		return false, fmt.Errorf("setting weights %d/%d in HTTPRoute %s: %w", 100-weight, weight, key, err)
	}
	// The patch answers with the route as stored.
	left, err := rewrite(route, b, weight)
	return err == nil && len(left) == 0, nil
}

// readErr is the error of a route that could not be read, worded for the
// user.
func (r *Router) readErr(key types.NamespacedName, b backend, err error) error {
	switch {
	case apierrors.IsNotFound(err):
		return outcome.WaitErr(TrafficRoutingErrorReason, r.retryInterval(), fmt.Errorf(
			"HTTPRoute %s not found: create it with backendRefs to Services %s and %s, or fix spec.strategy.canary.trafficRouting.plugins[%q]",
			key, b.Stable, b.Canary, PluginName))
	case meta.IsNoMatchError(err):
		return outcome.WaitErr(TrafficRoutingErrorReason, r.retryInterval(), fmt.Errorf(
			"the cluster does not serve HTTPRoutes (gateway.networking.k8s.io/v1): install the Gateway API CRDs to route %s: %w", key, err))
	}
	return fmt.Errorf("reading HTTPRoute %s: %w", key, err)
}

func (r *Router) retryInterval() time.Duration {
	if r.RetryInterval > 0 {
		return r.RetryInterval
	}
	return DefaultRetryInterval
}
