package kustomization

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// rolloutHashLabel is the selector key Argo Rollouts, and Ferry's
// rollout-controller, add to the Services a canary or blue-green Rollout
// names, so each Service selects one ReplicaSet's pods.
const rolloutHashLabel = "rollouts-pod-template-hash"

// keepRolloutSelectors carries the rollouts-pod-template-hash of a live
// Service's selector into the Service as built, when Git's selector leaves
// the key out (as Argo Rollouts' docs write such Services). A Service's
// selector is an atomic map for server-side apply: applying Git's selector
// would replace the whole map, drop the hash, send the stable Service's
// traffic to the canary's pods too, and, since the drift watcher sees the
// rollout controller set it again, the two controllers would take turns
// for ever. Keeping the key the rollout controller chose makes the apply a
// no-op for the selector; every other key stays Git's. Only Services that
// another field manager wrote since the controller's last apply are read,
// so a Kustomization without rollouts costs no request.
func (r *Reconciler) keepRolloutSelectors(ctx context.Context, s *scope) error {
	for _, o := range s.objects {
		if o.GetAPIVersion() != "v1" || o.GetKind() != "Service" {
			continue
		}
		selector, found, err := unstructured.NestedStringMap(o.Object, "spec", "selector")
		if err != nil || !found || len(selector) == 0 {
			continue
		}
		if _, ok := selector[rolloutHashLabel]; ok {
			continue
		}
		if !r.writtenByOthers(s, o) {
			continue
		}
		live := &corev1.Service{}
		err = s.target.Client.Get(ctx, client.ObjectKey{Namespace: o.GetNamespace(), Name: o.GetName()}, live)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading Service '%s/%s' for its %s: %w", o.GetNamespace(), o.GetName(), rolloutHashLabel, err)
		}
		hash, ok := live.Spec.Selector[rolloutHashLabel]
		if !ok {
			continue
		}
		selector[rolloutHashLabel] = hash
		if err := unstructured.SetNestedStringMap(o.Object, selector, "spec", "selector"); err != nil {
			return err
		}
	}
	return nil
}

// writtenByOthers reports whether o may carry another writer's changes: the
// drift watcher's cache says another field manager wrote it since this
// controller's last apply, or the cache cannot tell (no watch yet, another
// cluster). An object the cache knows to be absent has none.
func (r *Reconciler) writtenByOthers(s *scope, o *unstructured.Unstructured) bool {
	if r.drift == nil || s.obj.Spec.KubeConfig != nil {
		return true
	}
	live, known := r.drift.cached(o)
	if !known {
		return true
	}
	return live != nil && writtenSince(live, fieldManager)
}
