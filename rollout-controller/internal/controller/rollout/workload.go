package rollout

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// Reasons of the Ready condition for a spec the controller cannot act on.
const (
	// InvalidSpecReason: the selector does not match the template, or the
	// spec is otherwise impossible; only an edit helps.
	InvalidSpecReason = "InvalidSpec"
	// WorkloadNotFoundReason: the Deployment of spec.workloadRef does not
	// exist (yet).
	WorkloadNotFoundReason = "WorkloadNotFound"
	// ScaledDownWorkloadReason: the event of scaling the workloadRef's
	// Deployment to zero.
	ScaledDownWorkloadReason = "ScaledDownWorkload"
)

// resolveWorkload fills the scope's template and selector from
// spec.template or from the Deployment of spec.workloadRef, and scales
// that Deployment to zero so that only the rollout's pods run, as Argo
// Rollouts does. A missing Deployment is waited for; a selector that does
// not select the template's pods stalls (InvalidSpec).
func (r *Reconciler) resolveWorkload(ctx context.Context, s *scope) error {
	ro := s.ro
	s.selector = ro.Spec.Selector
	switch {
	case ro.Spec.Template != nil:
		s.template = *ro.Spec.Template.DeepCopy()
	case ro.Spec.WorkloadRef != nil:
		d := &appsv1.Deployment{}
		key := client.ObjectKey{Namespace: ro.Namespace, Name: ro.Spec.WorkloadRef.Name}
		if err := r.Client.Get(ctx, key, d); err != nil {
			if apierrors.IsNotFound(err) {
				// The Deployment's watch brings the rollout back when it
				// appears.
				return outcome.WaitErr(WorkloadNotFoundReason, 0,
					fmt.Errorf("Deployment '%s' of spec.workloadRef not found", key.Name))
			}
			return err
		}
		s.template = *d.Spec.Template.DeepCopy()
		if s.selector == nil {
			s.selector = d.Spec.Selector
		}
		if err := r.scaleDownWorkload(ctx, ro, d); err != nil {
			return err
		}
		// The status now describes this generation of the Deployment (its
		// own scale-down included), which health checks compare with the
		// Deployment's: a new template there does not change the Rollout's
		// generation.
		ro.Status.WorkloadObservedGeneration = d.Generation
	default:
		return outcome.StallErr(InvalidSpecReason, fmt.Errorf("one of spec.template and spec.workloadRef must be set"))
	}
	if s.selector == nil {
		return outcome.StallErr(InvalidSpecReason, fmt.Errorf("spec.selector must be set"))
	}
	sel, err := metav1.LabelSelectorAsSelector(s.selector)
	if err != nil {
		return outcome.StallErr(InvalidSpecReason, fmt.Errorf("invalid spec.selector: %w", err))
	}
	if sel.Empty() || !sel.Matches(labels.Set(s.template.Labels)) {
		return outcome.StallErr(InvalidSpecReason,
			fmt.Errorf("spec.selector %s does not match the template's labels", metav1.FormatLabelSelector(s.selector)))
	}
	return nil
}

// scaleDownWorkload sets the referenced Deployment's replicas to zero. It
// patches only spec.replicas, so the Deployment's other fields stay with
// whoever applies them.
func (r *Reconciler) scaleDownWorkload(ctx context.Context, ro *v1alpha1.Rollout, d *appsv1.Deployment) error {
	if d.Spec.Replicas != nil && *d.Spec.Replicas == 0 {
		return nil
	}
	base := d.DeepCopy()
	d.Spec.Replicas = ptr.To[int32](0)
	if err := r.Client.Patch(ctx, d, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("scaling Deployment '%s' of spec.workloadRef to zero: %w", d.Name, err)
	}
	r.Finisher.Event(ro, "", corev1.EventTypeNormal, ScaledDownWorkloadReason,
		fmt.Sprintf("scaled Deployment '%s' of spec.workloadRef to zero", d.Name))
	return nil
}
