package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/notification-controller/internal/kinds"
	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
)

// requestReconcile sets reconcile.fluxcd.io/requestedAt to value on every
// object the Receiver lists, which makes their controllers reconcile at
// once. It patches metadata only, so it works for any kind without its Go
// type, and it carries on past a failing object so one missing object does
// not starve the others. It returns how many objects were annotated.
func (h *Handler) requestReconcile(ctx context.Context, rcv *notificationv1.Receiver, value string) (int, error) {
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"annotations": map[string]string{fluxmeta.ReconcileRequestAnnotation: value}},
	})
	if err != nil {
		return 0, err
	}
	var errs []error
	annotated := 0
	for i, res := range rcv.Spec.Resources {
		objs, err := h.selectObjects(ctx, rcv, res)
		if err != nil {
			errs = append(errs, fmt.Errorf("spec.resources[%d]: %w", i, err))
			continue
		}
		for _, obj := range objs {
			if err := h.Client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch)); err != nil {
				errs = append(errs, fmt.Errorf("annotating %s %s/%s: %w", res.Kind, obj.GetNamespace(), obj.GetName(), err))
				continue
			}
			annotated++
		}
	}
	return annotated, errors.Join(errs...)
}

// selectObjects resolves one resources entry to the objects to annotate: the
// named object, or with name "*" every object of the kind in the namespace
// (or all namespaces for "*") carrying the matchLabels.
func (h *Handler) selectObjects(ctx context.Context, rcv *notificationv1.Receiver, res notificationv1.CrossNamespaceObjectReference) ([]*metav1.PartialObjectMetadata, error) {
	gvk, err := kinds.Resolve(res.APIVersion, res.Kind)
	if err != nil {
		return nil, err
	}
	ns := res.Namespace
	if ns == "" {
		ns = rcv.Namespace
	}
	if h.NoCrossNamespaceRefs && ns != rcv.Namespace {
		return nil, fmt.Errorf("namespace %q is another namespace and cross-namespace references are disabled", ns)
	}
	if res.Name != "*" {
		if ns == "*" {
			return nil, errors.New(`namespace "*" needs name "*"`)
		}
		obj := &metav1.PartialObjectMetadata{}
		obj.SetGroupVersionKind(gvk)
		obj.SetNamespace(ns)
		obj.SetName(res.Name)
		return []*metav1.PartialObjectMetadata{obj}, nil
	}
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	opts := []client.ListOption{client.MatchingLabels(res.MatchLabels)}
	if ns != "*" {
		opts = append(opts, client.InNamespace(ns))
	}
	if err := h.APIReader.List(ctx, list, opts...); err != nil {
		return nil, fmt.Errorf("listing %s: %w", res.Kind, err)
	}
	out := make([]*metav1.PartialObjectMetadata, 0, len(list.Items))
	for i := range list.Items {
		obj := &list.Items[i]
		obj.SetGroupVersionKind(gvk)
		out = append(out, obj)
	}
	return out, nil
}
