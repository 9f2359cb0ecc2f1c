package objects

import (
	"context"
	"fmt"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// KindError is a kind that could not be listed, e.g. forbidden by RBAC.
// Listing goes on with the other kinds, so a user allowed to see only
// Kustomizations still gets them.
type KindError struct {
	Kind Kind
	Err  error
}

func (e KindError) Error() string { return fmt.Sprintf("listing %s: %v", e.Kind.Resource, e.Err) }

// Forbidden is true when the API server refused the list for RBAC.
func (e KindError) Forbidden() bool { return apierrors.IsForbidden(e.Err) }

// Result is what List found.
type Result struct {
	// Items are sorted failing first (see Sort).
	Items []Summary
	// Objects are the listed objects, in no particular order.
	Objects []*unstructured.Unstructured
	// Errors are the kinds that could not be listed.
	Errors []KindError
}

// List lists kinds in namespace ("" for all) with the user's client. A kind
// whose CRD is not installed is skipped (a Flux without ExternalArtifact, a
// cluster with only some controllers); any other error is kept per kind.
func List(ctx context.Context, c client.Reader, namespace string, kinds []Kind) Result {
	var res Result
	for _, k := range kinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(k.GroupVersion.WithKind(k.Kind + "List"))
		if err := c.List(ctx, list, client.InNamespace(namespace)); err != nil {
			if NotServed(err) {
				continue
			}
			res.Errors = append(res.Errors, KindError{Kind: k, Err: err})
			continue
		}
		for i := range list.Items {
			obj := &list.Items[i]
			res.Objects = append(res.Objects, obj)
			res.Items = append(res.Items, Summarize(obj))
		}
	}
	Sort(res.Items)
	return res
}

// Get reads one object of kind.
func Get(ctx context.Context, c client.Reader, k Kind, namespace, name string) (*unstructured.Unstructured, error) {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(k.GVK())
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj); err != nil {
		return nil, fmt.Errorf("getting %s %s/%s: %w", k.Kind, namespace, name, err)
	}
	return obj, nil
}

// NotServed is true for an error saying the API server does not serve the
// kind at all (its CRD is not installed).
func NotServed(err error) bool {
	return meta.IsNoMatchError(err) || (apierrors.IsNotFound(err) && isListNotFound(err))
}

// isListNotFound tells a 404 for the resource (CRD missing) from a 404 for
// a named object: the former has no name in its details.
func isListNotFound(err error) bool {
	var st apierrors.APIStatus
	if s, ok := err.(apierrors.APIStatus); ok {
		st = s
	} else {
		return false
	}
	d := st.Status().Details
	return d == nil || d.Name == ""
}

// rank orders ready states: failing first, then the ones in progress.
func rank(s Summary) int {
	switch {
	case s.Failing():
		return 0
	case s.Ready == ReadyUnknown:
		return 1
	default:
		return 2
	}
}

// kindOrder keeps sources before appliers, as `ferry get all` lists them.
func kindOrder(kind string) int {
	for i, k := range Kinds {
		if k.Kind == kind {
			return i
		}
	}
	return len(Kinds)
}

// Sort puts failing objects first, then those not yet ready, then the
// ready ones; within a state by namespace, kind and name, so the object
// that needs attention is on the first line.
func Sort(items []Summary) {
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra < rb
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if ka, kb := kindOrder(a.Kind), kindOrder(b.Kind); ka != kb {
			return ka < kb
		}
		return a.Name < b.Name
	})
}
