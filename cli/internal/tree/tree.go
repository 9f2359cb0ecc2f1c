// Package tree walks what a Kustomization or HelmRelease manages, as `flux
// tree` does, and descends into the Kustomizations and HelmReleases it
// created, so an App-of-Apps shows as one graph. Each object carries its
// kstatus health (Current, InProgress, Failed, NotFound, ...), the same
// vocabulary the controllers' health checks use, so a person can follow a
// failing Kustomization down to the Deployment that is stuck.
//
// It reads only the Flux APIs and the objects themselves: a
// Kustomization's status.inventory, a HelmRelease's current release
// manifest from Helm's own storage (the release Secret). It works the same
// against Flux's controllers. The CLI's `tree` and the web UI share it.
package tree

import (
	"context"
	"fmt"
	"sort"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/cli-utils/pkg/object"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/cli/internal/objects"
)

// Health values beyond kstatus's own: Forbidden when RBAC hides the
// object from the user, so the tree says why it cannot tell.
const (
	Forbidden = "Forbidden"
)

// Node is one object in the tree.
type Node struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Health is kstatus's status: Current, InProgress, Failed,
	// Terminating, NotFound or Unknown; or Forbidden.
	Health string `json:"health"`
	// Message explains a health other than Current.
	Message string `json:"message,omitempty"`
	// Children are what a Kustomization or HelmRelease manages.
	Children []*Node `json:"children,omitempty"`
	// Error is set when the children could not be read.
	Error string `json:"error,omitempty"`
}

// Ref is Kind/namespace/name, as the tree prints it.
func (n *Node) Ref() string {
	if n.Namespace == "" {
		return n.Kind + "/" + n.Name
	}
	return n.Kind + "/" + n.Namespace + "/" + n.Name
}

// Walker reads objects with the user's clients.
type Walker struct {
	// Client reads objects of any kind.
	Client client.Client
	// Kube reads Helm's release Secrets.
	Kube kubernetes.Interface
	// MaxDepth bounds the descent; zero means 10.
	MaxDepth int
}

// Walk builds the tree under the Kustomization or HelmRelease root.
func (w *Walker) Walk(ctx context.Context, kind objects.Kind, namespace, name string) (*Node, error) {
	root := &Node{Group: kind.GroupVersion.Group, Version: kind.GroupVersion.Version, Kind: kind.Kind, Namespace: namespace, Name: name}
	obj, err := w.health(ctx, root)
	if err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, fmt.Errorf("%s %s/%s not found: check the name and namespace (-n)", kind.Kind, namespace, name)
	}
	max := w.MaxDepth
	if max == 0 {
		max = 10
	}
	w.children(ctx, root, obj, map[string]bool{root.Ref(): true}, max)
	return root, nil
}

// children fills n's children from obj when obj is an applier.
func (w *Walker) children(ctx context.Context, n *Node, obj *unstructured.Unstructured, seen map[string]bool, depth int) {
	if depth == 0 || obj == nil {
		return
	}
	var kids []*Node
	var err error
	switch {
	case isKind(n, objects.Kustomization):
		kids, err = inventory(obj)
	case isKind(n, objects.HelmRelease):
		kids, err = w.release(ctx, obj)
	default:
		return
	}
	if err != nil {
		n.Error = err.Error()
		return
	}
	sort.SliceStable(kids, func(i, j int) bool { return less(kids[i], kids[j]) })
	for _, k := range kids {
		live, err := w.health(ctx, k)
		if err != nil {
			k.Health, k.Message = status.UnknownStatus.String(), err.Error()
		}
		if !seen[k.Ref()] {
			seen[k.Ref()] = true
			w.children(ctx, k, live, seen, depth-1)
		}
	}
	n.Children = kids
}

func isKind(n *Node, k objects.Kind) bool {
	return n.Kind == k.Kind && n.Group == k.GroupVersion.Group
}

// health reads the object and sets its kstatus health; it returns the live
// object, or nil when it does not exist or cannot be read.
func (w *Walker) health(ctx context.Context, n *Node) (*unstructured.Unstructured, error) {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(schema.GroupVersionKind{Group: n.Group, Version: n.Version, Kind: n.Kind})
	err := w.Client.Get(ctx, client.ObjectKey{Namespace: n.Namespace, Name: n.Name}, obj)
	switch {
	case apierrors.IsNotFound(err):
		n.Health = status.NotFoundStatus.String()
		return nil, nil
	case apierrors.IsForbidden(err):
		n.Health, n.Message = Forbidden, "forbidden by RBAC: cannot get "+n.Kind
		return nil, nil
	case err != nil:
		return nil, err
	}
	res, err := status.Compute(obj)
	if err != nil {
		n.Health, n.Message = status.UnknownStatus.String(), err.Error()
		return obj, nil
	}
	n.Health = res.Status.String()
	if res.Status != status.CurrentStatus {
		n.Message = res.Message
	}
	return obj, nil
}

// inventory reads a Kustomization's status.inventory entries.
func inventory(obj *unstructured.Unstructured) ([]*Node, error) {
	entries, _, _ := unstructured.NestedSlice(obj.Object, "status", "inventory", "entries")
	var out []*Node
	for _, e := range entries {
		m, _ := e.(map[string]any)
		id, _ := m["id"].(string)
		v, _ := m["v"].(string)
		meta, err := object.ParseObjMetadata(id)
		if err != nil {
			return nil, fmt.Errorf("reading inventory entry %q: %w", id, err)
		}
		out = append(out, &Node{Group: meta.GroupKind.Group, Version: v, Kind: meta.GroupKind.Kind,
			Namespace: meta.Namespace, Name: meta.Name})
	}
	return out, nil
}

// less orders the Flux appliers last, so the leaves of one level read
// first and the sub-trees after them, as flux tree prints them.
func less(a, b *Node) bool {
	aa, ba := applier(a), applier(b)
	if aa != ba {
		return !aa
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

func applier(n *Node) bool {
	return isKind(n, objects.Kustomization) || isKind(n, objects.HelmRelease)
}
