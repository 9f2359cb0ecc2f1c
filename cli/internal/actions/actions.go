// Package actions drives Flux objects the way `flux reconcile`, `flux
// suspend` and `flux resume` do, through annotations and spec fields any
// Flux or Ferry controller honours: a reconcile request is the
// reconcile.fluxcd.io/requestedAt annotation, answered by the controller
// echoing it in status.lastHandledReconcileAt. Everything goes through the
// user's own client, so RBAC decides what a user may do. The CLI and the
// web UI's buttons share it.
package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/cli/internal/objects"
)

// Annotations the controllers honour.
const (
	// RequestedAtAnnotation asks for a reconcile now.
	RequestedAtAnnotation = "reconcile.fluxcd.io/requestedAt"
	// ForceAtAnnotation, equal to requestedAt, asks a HelmRelease for an
	// upgrade even without a change, and a Ferry Kustomization for one
	// apply that recreates objects whose immutable fields changed.
	ForceAtAnnotation = "reconcile.fluxcd.io/forceAt"
)

// Ref names one object of a Flux kind.
type Ref struct {
	Kind      objects.Kind
	Namespace string
	Name      string
}

func (r Ref) String() string { return r.Kind.Kind + "/" + r.Namespace + "/" + r.Name }

// Request is a reconcile request that was written.
type Request struct {
	Ref Ref
	// Token is the requestedAt value to wait for.
	Token string
}

// Token returns a requestedAt value for now, as `flux reconcile` writes it.
func Token(now time.Time) string { return now.Format(time.RFC3339Nano) }

// RequestReconcile sets requestedAt (and forceAt when force is true) on ref
// with a merge patch, which needs only `patch` on the kind.
func RequestReconcile(ctx context.Context, c client.Client, ref Ref, force bool, now time.Time) (Request, error) {
	token := Token(now)
	ann := map[string]any{RequestedAtAnnotation: token}
	if force {
		ann[ForceAtAnnotation] = token
	}
	if err := mergePatch(ctx, c, ref, map[string]any{"metadata": map[string]any{"annotations": ann}}); err != nil {
		return Request{}, err
	}
	return Request{Ref: ref, Token: token}, nil
}

// SetSuspend sets spec.suspend, which every Flux kind honours at once; a
// Rollout's is spec.paused, as `kubectl argo rollouts pause` sets it.
func SetSuspend(ctx context.Context, c client.Client, ref Ref, suspend bool) error {
	field := "suspend"
	if ref.Kind.Kind == objects.Rollout.Kind {
		field = "paused"
	}
	return mergePatch(ctx, c, ref, map[string]any{"spec": map[string]any{field: suspend}})
}

func mergePatch(ctx context.Context, c client.Client, ref Ref, body map[string]any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(ref.Kind.GVK())
	obj.SetNamespace(ref.Namespace)
	obj.SetName(ref.Name)
	if err := c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, data)); err != nil {
		return describe(ref, "patch", err)
	}
	return nil
}

// describe names the object and the next step in an API error.
func describe(ref Ref, verb string, err error) error {
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s not found: check the name and namespace (-n)", ref)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("forbidden by RBAC: cannot %s %s in namespace %s: %w", verb, ref.Kind.Resource, ref.Namespace, err)
	}
	return fmt.Errorf("%s %s: %w", verb, ref, err)
}

// ErrNotReady is returned by Wait when the reconcile ended with Ready not
// True.
var ErrNotReady = errors.New("not ready")

// Wait polls ref until its status.lastHandledReconcileAt equals the
// request's token and then returns its summary. The controller writes the
// handled token in the same status patch as the reconcile's Ready
// condition, so that summary is this reconcile's outcome. The error wraps
// ErrNotReady when Ready is not True.
func Wait(ctx context.Context, c client.Reader, req Request, interval, timeout time.Duration) (objects.Summary, error) {
	var last *unstructured.Unstructured
	err := wait.PollUntilContextTimeout(ctx, interval, timeout, true, func(ctx context.Context) (bool, error) {
		obj, err := objects.Get(ctx, c, req.Ref.Kind, req.Ref.Namespace, req.Ref.Name)
		if err != nil {
			return false, describe(req.Ref, "get", err)
		}
		last = obj
		handled, _, _ := unstructured.NestedString(obj.Object, "status", "lastHandledReconcileAt")
		return handled == req.Token, nil
	})
	if err != nil {
		if last != nil && (errors.Is(err, context.DeadlineExceeded) || wait.Interrupted(err)) {
			s := objects.Summarize(last)
			return s, fmt.Errorf("%s did not handle the reconcile request within %s (ready %s: %s): is its controller running? try `ferry check`",
				req.Ref, timeout, s.Ready, s.Message)
		}
		return objects.Summary{}, err
	}
	s := objects.Summarize(last)
	if s.Ready != objects.ReadyTrue {
		return s, fmt.Errorf("%s: %w: %s", req.Ref, ErrNotReady, strings.TrimSpace(s.Reason+" "+s.Message))
	}
	return s, nil
}

// SourceOf finds the source a Kustomization or HelmRelease reads, for
// `reconcile --with-source`: a Kustomization's spec.sourceRef; a
// HelmRelease's spec.chartRef, else the HelmChart it made (status.helmChart,
// "namespace/name").
func SourceOf(obj *unstructured.Unstructured) (Ref, error) {
	str := func(path ...string) string {
		v, _, _ := unstructured.NestedString(obj.Object, path...)
		return v
	}
	ref := func(path ...string) (Ref, bool, error) {
		kind := str(append(path, "kind")...)
		if kind == "" {
			return Ref{}, false, nil
		}
		k, err := objects.Lookup(kind)
		if err != nil {
			return Ref{}, true, err
		}
		ns := str(append(path, "namespace")...)
		if ns == "" {
			ns = obj.GetNamespace()
		}
		return Ref{Kind: k, Namespace: ns, Name: str(append(path, "name")...)}, true, nil
	}
	switch obj.GetKind() {
	case objects.Kustomization.Kind:
		r, ok, err := ref("spec", "sourceRef")
		if !ok && err == nil {
			err = fmt.Errorf("kustomization %s/%s has no spec.sourceRef", obj.GetNamespace(), obj.GetName())
		}
		return r, err
	case objects.HelmRelease.Kind:
		if r, ok, err := ref("spec", "chartRef"); ok {
			return r, err
		}
		chart := str("status", "helmChart")
		ns, name, ok := strings.Cut(chart, "/")
		if !ok {
			return Ref{}, fmt.Errorf("helmrelease %s/%s has no HelmChart yet (status.helmChart is empty): reconcile it without --with-source first",
				obj.GetNamespace(), obj.GetName())
		}
		return Ref{Kind: objects.HelmChart, Namespace: ns, Name: name}, nil
	}
	return Ref{}, fmt.Errorf("%s has no source", obj.GetKind())
}
