package diff

import (
	"context"
	"fmt"
	"strings"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	ssaerrors "github.com/fluxcd/pkg/ssa/errors"
	ssautils "github.com/fluxcd/pkg/ssa/utils"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Owner is the controller whose apply a diff reproduces.
type Owner struct {
	// Field is its server-side apply field manager.
	Field string
	// Group prefixes the owner labels (<group>/name, <group>/namespace).
	Group string
	// Name and Namespace are the applier's, for the owner labels.
	Name, Namespace string
}

// ApplyOptions are the controller's apply options a diff must share.
type ApplyOptions struct {
	// Force recreates objects whose immutable fields change.
	Force bool
	// ForceSelector, ExclusionSelector and IfNotPresentSelector are the
	// per-object annotations the controller honours.
	ForceSelector        map[string]string
	ExclusionSelector    map[string]string
	IfNotPresentSelector map[string]string
}

// Engine dry-runs objects with the user's client.
type Engine struct {
	Client client.Client
	// Concurrency bounds parallel dry-runs; zero means 8.
	Concurrency int
	// Context is the number of unified diff context lines; zero means 3.
	Context int
}

// DryRun compares desired with the live cluster through a server-side
// dry-run apply as owner, and returns one ObjectDiff per object, in order.
// Objects whose namespace or CRD the same set creates are shown as created
// without a dry-run, as the controller applies those in a first stage.
func (e *Engine) DryRun(ctx context.Context, desired []*unstructured.Unstructured, owner Owner, opts ApplyOptions) ([]ObjectDiff, error) {
	m := ssa.NewResourceManager(e.Client, nil, ssa.Owner{Field: owner.Field, Group: owner.Group})
	m.SetOwnerLabels(desired, owner.Name, owner.Namespace)
	staged := stagedInSet(desired)
	out := make([]ObjectDiff, len(desired))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.concurrency())
	for i, obj := range desired {
		g.Go(func() error {
			d, err := e.one(gctx, m, obj, staged, opts)
			if err != nil {
				return err
			}
			out[i] = d
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

func (e *Engine) concurrency() int {
	if e.Concurrency > 0 {
		return e.Concurrency
	}
	return 8
}

func (e *Engine) contextLines() int {
	if e.Context > 0 {
		return e.Context
	}
	return 3
}

// one dry-runs a single object.
func (e *Engine) one(ctx context.Context, m *ssa.ResourceManager, obj *unstructured.Unstructured, staged map[string]bool, opts ApplyOptions) (ObjectDiff, error) {
	d := newObjectDiff(obj)
	entry, live, merged, err := m.Diff(ctx, obj.DeepCopy(), ssa.DiffOptions{
		Exclusions: opts.ExclusionSelector, IfNotPresentSelector: opts.IfNotPresentSelector,
		Force: opts.Force, ForceSelector: opts.ForceSelector,
	})
	if err != nil {
		if dependsOnSet(err, obj, staged) {
			return e.created(d, obj, "its namespace or CRD is created by the same apply")
		}
		if ssaerrors.IsImmutableError(err) {
			return e.replaced(ctx, d, obj, "an immutable field changes: the apply fails unless forced "+
				"(spec.force, the kustomize.toolkit.fluxcd.io/force annotation or `ferry reconcile ks --force`)")
		}
		return d, fmt.Errorf("dry-run of %s failed: %w", d.Ref, err)
	}
	switch entry.Action {
	case ssa.SkippedAction:
		d.Action, d.Note = Skipped, "excluded by its reconcile or ssa annotation"
		return d, nil
	case ssa.UnchangedAction:
		d.Action = Unchanged
		return d, nil
	case ssa.CreatedAction:
		// Created for an object that exists means force recreates it.
		return e.replaced(ctx, d, obj, "an immutable field changes: force deletes and recreates it")
	}
	d.Action = Configured
	MaskSecrets(live, merged)
	d.Diff, err = Unified(d.Ref, live, merged, e.contextLines())
	return d, err
}

// replaced shows an existing object that must be recreated against the
// desired one; when it does not exist it is simply created.
func (e *Engine) replaced(ctx context.Context, d ObjectDiff, obj *unstructured.Unstructured, note string) (ObjectDiff, error) {
	existing, err := e.live(ctx, obj.GroupVersionKind(), obj.GetNamespace(), obj.GetName())
	if err != nil {
		return d, err
	}
	if existing == nil {
		return e.created(d, obj, "")
	}
	d.Action, d.Note = Replaced, note
	desired := obj.DeepCopy()
	MaskSecrets(existing, desired)
	d.Diff, err = Unified(d.Ref, existing, desired, e.contextLines())
	return d, err
}

// created shows the whole desired object as added, Secrets masked.
func (e *Engine) created(d ObjectDiff, obj *unstructured.Unstructured, note string) (ObjectDiff, error) {
	desired := obj.DeepCopy()
	MaskSecrets(nil, desired)
	var err error
	d.Action, d.Note = Created, note
	d.Diff, err = Unified(d.Ref, nil, desired, e.contextLines())
	return d, err
}

func newObjectDiff(obj *unstructured.Unstructured) ObjectDiff {
	ref := obj.GetKind() + "/" + obj.GetName()
	if obj.GetNamespace() != "" {
		ref = obj.GetKind() + "/" + obj.GetNamespace() + "/" + obj.GetName()
	}
	return ObjectDiff{Ref: ref, Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// stagedInSet lists the namespaces and CRD kinds the set itself defines.
func stagedInSet(objs []*unstructured.Unstructured) map[string]bool {
	out := map[string]bool{}
	for _, o := range objs {
		switch {
		case o.GetKind() == "Namespace" && o.GroupVersionKind().Group == "":
			out["ns/"+o.GetName()] = true
		case ssautils.IsCRD(o):
			group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
			kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
			out["kind/"+kind+"."+group] = true
		}
	}
	return out
}

// dependsOnSet is true when a dry-run failed only because the object's
// namespace or kind does not exist yet and the same set creates it.
func dependsOnSet(err error, obj *unstructured.Unstructured, staged map[string]bool) bool {
	gvk := obj.GroupVersionKind()
	if staged["kind/"+gvk.Kind+"."+gvk.Group] && (meta.IsNoMatchError(err) || strings.Contains(err.Error(), "no matches for kind")) {
		return true
	}
	return staged["ns/"+obj.GetNamespace()] && (apierrors.IsNotFound(err) || strings.Contains(err.Error(), "not found"))
}

// Pruned returns the objects of inventory (Flux's ids and versions) that
// desired lacks and that the controller would delete: still present,
// carrying the owner's labels and not annotated prune: disabled.
func (e *Engine) Pruned(ctx context.Context, inventory []InventoryEntry, desired []*unstructured.Unstructured, owner Owner, pruneDisabled map[string]string) ([]ObjectDiff, error) {
	keep := map[string]bool{}
	for _, o := range desired {
		keep[object.UnstructuredToObjMetadata(o).String()] = true
	}
	var out []ObjectDiff
	for _, entry := range inventory {
		if keep[entry.ID] {
			continue
		}
		id, err := object.ParseObjMetadata(entry.ID)
		if err != nil {
			return nil, fmt.Errorf("reading inventory entry %q: %w", entry.ID, err)
		}
		live, err := e.live(ctx, id.GroupKind.WithVersion(entry.Version), id.Namespace, id.Name)
		if err != nil {
			return nil, err
		}
		if live == nil {
			continue
		}
		labels := live.GetLabels()
		if labels[owner.Group+"/name"] != owner.Name || labels[owner.Group+"/namespace"] != owner.Namespace {
			continue
		}
		if ssautils.AnyInMetadata(live, pruneDisabled) {
			continue
		}
		d, err := e.pruned(live)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// live reads an object, nil when it (or its kind) does not exist.
func (e *Engine) live(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error) {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(gvk)
	if err := e.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, live); err != nil {
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading %s %s/%s: %w", gvk.Kind, namespace, name, err)
	}
	return live, nil
}

// pruned shows a live object about to be deleted, Secrets masked.
func (e *Engine) pruned(live *unstructured.Unstructured) (ObjectDiff, error) {
	d := newObjectDiff(live)
	d.Action = Pruned
	MaskSecrets(live, nil)
	var err error
	d.Diff, err = Unified(d.Ref, live, nil, e.contextLines())
	return d, err
}

// InventoryEntry is one entry of a Kustomization's status.inventory.
type InventoryEntry struct {
	ID      string `json:"id"`
	Version string `json:"v"`
}
