package rollout

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// ServiceNotFoundReason: a Service the strategy names does not exist.
const ServiceNotFoundReason = "ServiceNotFound"

// serviceRetry is how often a rollout looks for a missing Service. Services
// are read from the API server, not watched: a watch would cache every
// Service of the cluster in the controller, and a rollout reads only the
// two it names.
const serviceRetry = 10 * time.Second

// syncServices points spec.strategy.canary.stableService at the stable
// ReplicaSet and canaryService at the new one, by adding the
// rollouts-pod-template-hash to their selectors, as Argo Rollouts does.
// Without an update in progress both select the stable ReplicaSet.
func (r *Reconciler) syncServices(ctx context.Context, s *scope) error {
	c := s.ro.Spec.Strategy.Canary
	if c == nil || s.ro.Status.StableRS == "" {
		return nil
	}
	stable := s.ro.Status.StableRS
	canary := s.hash
	if s.aborted {
		canary = stable
	}
	for _, svc := range []struct{ name, hash string }{{c.StableService, stable}, {c.CanaryService, canary}} {
		if svc.name == "" {
			continue
		}
		if err := r.selectHash(ctx, s.ro, svc.name, svc.hash); err != nil {
			return err
		}
	}
	return nil
}

// selectHash sets the hash in Service name's selector, patching only that
// key so that the rest of the selector stays whoever's applies it.
func (r *Reconciler) selectHash(ctx context.Context, ro *v1alpha1.Rollout, name, hash string) error {
	svc := &corev1.Service{}
	if err := r.reader().Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: name}, svc); err != nil {
		if apierrors.IsNotFound(err) {
			return outcome.WaitErr(ServiceNotFoundReason, serviceRetry, fmt.Errorf("Service '%s' not found", name))
		}
		return err
	}
	if svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey] == hash {
		return nil
	}
	base := svc.DeepCopy()
	if svc.Spec.Selector == nil {
		svc.Spec.Selector = map[string]string{}
	}
	svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey] = hash
	if err := r.Client.Patch(ctx, svc, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("pointing Service '%s' at %s: %w", name, hash, err)
	}
	return nil
}
