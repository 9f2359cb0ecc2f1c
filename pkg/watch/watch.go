// Package watch holds what the controllers' watches share: the one rule for
// "this source brought a new artifact", and the one way to turn a watched
// object into requests for the objects that refer to it through a field
// index. Each controller had its own copy of both, and the copies differed:
// one compared digests only, so a source whose revision moved without its
// content changing requeued nobody in one controller and everybody in the
// others.
package watch

import (
	"context"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// ArtifactChanged passes the updates of a source that bring a new artifact:
// its first one, or one of another revision or digest. Consumers (the
// objects built from the source) requeue at once instead of at their next
// interval. Creates, deletes and generic events pass nothing: a new source
// has no artifact yet, and a consumer notices a deleted one at its next
// reconcile.
type ArtifactChanged struct{ predicate.Funcs }

// Create is ignored.
func (ArtifactChanged) Create(event.CreateEvent) bool { return false }

// Delete is ignored.
func (ArtifactChanged) Delete(event.DeleteEvent) bool { return false }

// Generic is ignored.
func (ArtifactChanged) Generic(event.GenericEvent) bool { return false }

// Update passes when the new object has an artifact the old one lacked or
// that differs from the old one's in revision or digest.
func (ArtifactChanged) Update(e event.UpdateEvent) bool {
	oldA, newA := artifactOf(e.ObjectOld), artifactOf(e.ObjectNew)
	return newA != nil && (oldA == nil || oldA.Revision != newA.Revision || oldA.Digest != newA.Digest)
}

// artifactOf returns the artifact of a source, nil for an object that has
// none or is no source.
func artifactOf(o client.Object) *fluxmeta.Artifact {
	if src, ok := o.(interface{ GetArtifact() *fluxmeta.Artifact }); ok {
		return src.GetArtifact()
	}
	return nil
}

// Scope says where the referring objects may live.
type Scope int

const (
	// AnyNamespace lists referrers in every namespace; the index key
	// carries the namespace when references may cross namespaces.
	AnyNamespace Scope = iota
	// SameNamespace lists referrers in the watched object's namespace only,
	// for references that never leave it.
	SameNamespace
)

// Referrers returns a map function for a watch: for a watched object o it
// lists the objects of list type L whose field index entry index holds
// key(o), and returns a request for each. A failed list is logged and
// requeues nothing: the referrers still reconcile at their interval.
func Referrers[L any, PL interface {
	*L
	client.ObjectList
}](c client.Reader, index string, key func(client.Object) string, scope Scope) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		opts := []client.ListOption{client.MatchingFields{index: key(o)}}
		if scope == SameNamespace {
			opts = append(opts, client.InNamespace(o.GetNamespace()))
		}
		return Requests(ctx, c, PL(new(L)), opts...)
	}
}

// Requests lists into list with opts and returns a request for each item.
func Requests(ctx context.Context, c client.Reader, list client.ObjectList, opts ...client.ListOption) []reconcile.Request {
	if err := c.List(ctx, list, opts...); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "failed to list the objects to requeue", "list", list.GetObjectKind().GroupVersionKind().Kind)
		return nil
	}
	var reqs []reconcile.Request
	_ = apimeta.EachListItem(list, func(item runtime.Object) error {
		if o, ok := item.(client.Object); ok {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(o)})
		}
		return nil
	})
	return reqs
}

// Name is an index key function: the watched object's name.
func Name(o client.Object) string { return o.GetName() }
