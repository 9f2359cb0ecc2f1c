package gatewayapi

import (
	"encoding/json"
	"fmt"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// backend names the Services of one rollout: the namespace they live in
// and the stable and canary Services' names.
type backend struct {
	Namespace, Stable, Canary string
}

// change is one backendRef whose weight must change: rule and ref index
// into the route's spec.rules and that rule's backendRefs.
type change struct {
	Rule, Ref int
	Name      string
	Weight    int32
}

// rewrite says which backendRefs of route must change for the canary to
// get weight percent of its traffic and the stable the rest. Every
// backendRef that points at one of the two Services, in any rule, gets its
// weight, as Argo Rollouts' Gateway API plugin sets them; other backends
// and rules are left alone. A backendRef points at a Service when its kind
// is Service (the default) in the core group and its namespace (the
// route's by default) is the rollout's: a Service of the same name in
// another namespace is another Service. No change means the route already
// has the weights. A route that lacks a backendRef to either Service
// cannot split traffic between them and is an error that names both.
func rewrite(route *gatewayv1.HTTPRoute, b backend, weight int32) ([]change, error) {
	var changes []change
	found := map[string]bool{}
	for i, rule := range route.Spec.Rules {
		for j, ref := range rule.BackendRefs {
			name := string(ref.Name)
			if !isService(ref.BackendObjectReference, route.Namespace, b.Namespace) {
				continue
			}
			var want int32
			switch name {
			case b.Canary:
				want = weight
			case b.Stable:
				want = 100 - weight
			default:
				continue
			}
			found[name] = true
			if ref.Weight == nil || *ref.Weight != want {
				changes = append(changes, change{Rule: i, Ref: j, Name: name, Weight: want})
			}
		}
	}
	var missing []string
	for _, name := range []string{b.Stable, b.Canary} {
		if !found[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("HTTPRoute %s/%s has no backendRef to Service %s/%s: add backendRefs to both the stableService %s and the canaryService %s in the rule that carries the traffic",
			route.Namespace, route.Name, b.Namespace, missing[0], b.Stable, b.Canary)
	}
	return changes, nil
}

// isService reports whether ref points at a Service in namespace ns; a
// reference without a namespace points into the route's own namespace.
func isService(ref gatewayv1.BackendObjectReference, routeNS, ns string) bool {
	if ref.Group != nil && *ref.Group != "" {
		return false
	}
	if ref.Kind != nil && *ref.Kind != "Service" {
		return false
	}
	refNS := routeNS
	if ref.Namespace != nil {
		refNS = string(*ref.Namespace)
	}
	return refNS == ns
}

// patchOp is one operation of a JSON patch (RFC 6902).
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// jsonPatch writes the changes' weights and nothing else, so fields of the
// route that these Gateway API types do not know (a newer CRD's) survive.
// Each weight is guarded by a test of the backendRef's name: a route whose
// rules moved since it was read fails the patch instead of getting a
// weight on the wrong backend, and the next reconcile reads it again.
func jsonPatch(changes []change) ([]byte, error) {
	ops := make([]patchOp, 0, 2*len(changes))
	for _, c := range changes {
		path := fmt.Sprintf("/spec/rules/%d/backendRefs/%d", c.Rule, c.Ref)
		ops = append(ops,
			patchOp{Op: "test", Path: path + "/name", Value: c.Name},
			patchOp{Op: "add", Path: path + "/weight", Value: c.Weight})
	}
	return json.Marshal(ops)
}
