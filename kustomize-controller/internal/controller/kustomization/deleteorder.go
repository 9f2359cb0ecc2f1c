package kustomization

import (
	"context"

	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/dependency"
)

// deleteInOrder deletes objects like rm.DeleteAll, except that the
// Kustomizations and HelmReleases among them (an App-of-Apps root's
// children) are deleted dependents first, one layer of the dependency graph
// at a time. Each child's finalizer waits while a dependent is being
// deleted (dependency.Finalize), but it can only see a deletion that was
// made before its own: DeleteAll sorts by kind and name, which would often
// delete what is depended on first. The other objects follow in one batch.
// A child that cannot be read, or a cycle, ends the layering and the rest
// go together.
func deleteInOrder(ctx context.Context, c client.Reader, rm *ssa.ResourceManager, objects []*unstructured.Unstructured, opts ssa.DeleteOptions) (*ssa.ChangeSet, error) {
	var rest []*unstructured.Unstructured
	type child struct {
		obj  *unstructured.Unstructured
		deps []string
	}
	children := map[string]child{}
	for _, o := range objects {
		kind, ok := dependentKind(o)
		if !ok {
			rest = append(rest, o)
			continue
		}
		live, err := dependency.NewObject(kind)
		if err == nil {
			err = c.Get(ctx, client.ObjectKeyFromObject(o), live)
		}
		if err != nil {
			rest = append(rest, o)
			continue
		}
		var deps []string
		for _, ref := range live.GetDependsOn() {
			key := dependency.Key(live, ref)
			deps = append(deps, dependency.IndexKey(ref.KindOr(kind), key.Namespace, key.Name))
		}
		children[dependency.IndexKey(kind, o.GetNamespace(), o.GetName())] = child{obj: o, deps: deps}
	}
	cs := ssa.NewChangeSet()
	for len(children) > 0 {
		needed := map[string]bool{}
		for _, ch := range children {
			for _, d := range ch.deps {
				needed[d] = true
			}
		}
		var layer []*unstructured.Unstructured
		for key, ch := range children {
			if !needed[key] {
				layer = append(layer, ch.obj)
				delete(children, key)
			}
		}
		if len(layer) == 0 {
			// A cycle: the rest go together.
			for key, ch := range children {
				rest = append(rest, ch.obj)
				delete(children, key)
			}
			break
		}
		lcs, err := rm.DeleteAll(ctx, layer, opts)
		if lcs != nil {
			cs.Append(lcs.Entries)
		}
		if err != nil {
			return cs, err
		}
	}
	if len(rest) == 0 {
		return cs, nil
	}
	rcs, err := rm.DeleteAll(ctx, rest, opts)
	if rcs != nil {
		cs.Append(rcs.Entries)
	}
	return cs, err
}

// dependentKind reports whether o is a Kustomization or a HelmRelease, and
// which.
func dependentKind(o *unstructured.Unstructured) (string, bool) {
	gvk := o.GroupVersionKind()
	switch {
	case gvk.Group == kustomizev1.GroupVersion.Group && gvk.Kind == kustomizev1.KustomizationKind:
		return gvk.Kind, true
	case gvk.Group == helmv2.GroupVersion.Group && gvk.Kind == helmv2.HelmReleaseKind:
		return gvk.Kind, true
	}
	return "", false
}
