package dependency

import (
	"context"
	"fmt"
	"strings"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/apis/meta"
	"github.com/ferrycd/ferry/pkg/depgraph"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/pkg/watch"
)

// Across kinds: a Kustomization may depend on a HelmRelease and a
// HelmRelease on a Kustomization. Both controllers read, index and watch
// both kinds through what follows, so each wakes its dependents when a
// dependency of the other kind becomes ready, stalls on a cycle that runs
// through both, and finalizes in reverse dependency order.

// Dependent is an object with spec.dependsOn: a Kustomization or a
// HelmRelease.
type Dependent interface {
	Object
	GetDependsOn() []meta.DependencyReference
}

// kinds builds an empty object and an empty list of each kind.
var kinds = map[string]struct {
	object func() Dependent
	list   func() client.ObjectList
}{
	meta.KustomizationKind: {func() Dependent { return &kustomizev1.Kustomization{} }, func() client.ObjectList { return &kustomizev1.KustomizationList{} }},
	meta.HelmReleaseKind:   {func() Dependent { return &helmv2.HelmRelease{} }, func() client.ObjectList { return &helmv2.HelmReleaseList{} }},
}

// NewObject returns an empty object of a dependsOn kind.
func NewObject(kind string) (Dependent, error) {
	k, ok := kinds[kind]
	if !ok {
		return nil, fmt.Errorf("kind '%s' cannot be depended on: use Kustomization or HelmRelease", kind)
	}
	return k.object(), nil
}

// StateOf reads what the rule needs of a dependency's status.
func StateOf(d Dependent) State {
	switch o := d.(type) {
	case *kustomizev1.Kustomization:
		return State{ObservedGeneration: o.Status.ObservedGeneration, AppliedRevision: o.Status.LastAppliedRevision}
	case *helmv2.HelmRelease:
		return State{ObservedGeneration: o.Status.ObservedGeneration}
	}
	return State{}
}

// CheckAcross is Check for dependencies of either kind: obj is of kind own,
// which an entry without a kind names. want, when not nil, returns the
// revision obj needs a dependency to have applied ("" for none).
func CheckAcross(ctx context.Context, c client.Reader, own string, obj Dependent, want func(Dependent) string, opts Options) error {
	for _, ref := range obj.GetDependsOn() {
		key := Key(obj, ref)
		kind := ref.KindOr(own)
		if opts.NoCrossNamespaceRefs && key.Namespace != obj.GetNamespace() {
			return &Error{Key: key, Denied: true,
				Err: fmt.Errorf("(%s) is in another namespace, which --no-cross-namespace-refs forbids", kind)}
		}
		dep, err := NewObject(kind)
		if err != nil {
			return &Error{Key: key, Denied: true, Err: err}
		}
		if err := c.Get(ctx, key, dep); err != nil {
			if apierrors.IsNotFound(err) {
				return &Error{Key: key, Err: fmt.Errorf("(%s) not found", kind)}
			}
			return &Error{Key: key, Err: fmt.Errorf("(%s) could not be read: %w", kind, err)}
		}
		st := StateOf(dep)
		if want != nil {
			st.WantRevision = want(dep)
		}
		if err := Ready(dep, st); err != nil {
			return &Error{Key: key, Err: fmt.Errorf("(%s) %w", kind, err)}
		}
	}
	return nil
}

// CycleReason marks an object on a dependency cycle.
const CycleReason = "DependencyCycle"

// CheckCycle stalls obj, of kind own, when its dependsOn leads back to it,
// naming the whole cycle so the user sees which entry to remove. Flux waits
// forever instead, each member reporting the next as not ready.
func CheckCycle(ctx context.Context, c client.Reader, own string, obj Dependent) error {
	if len(obj.GetDependsOn()) == 0 {
		return nil
	}
	start := depgraph.Node{Kind: own, Namespace: obj.GetNamespace(), Name: obj.GetName()}
	cycle, err := depgraph.Cycle(ctx, start, func(ctx context.Context, n depgraph.Node) ([]depgraph.Node, error) {
		var d Dependent = obj
		if n != start {
			var err error
			if d, err = NewObject(n.Kind); err != nil {
				return nil, nil
			}
			if err := c.Get(ctx, client.ObjectKey{Namespace: n.Namespace, Name: n.Name}, d); err != nil {
				return nil, client.IgnoreNotFound(err)
			}
		}
		var next []depgraph.Node
		for _, ref := range d.GetDependsOn() {
			key := Key(d, ref)
			next = append(next, depgraph.Node{Kind: ref.KindOr(n.Kind), Namespace: key.Namespace, Name: key.Name})
		}
		return next, nil
	})
	if err != nil {
		return outcome.RetryErr(NotReadyReason, fmt.Errorf("failed to walk the dependency graph: %w", err))
	}
	if cycle != nil {
		return outcome.StallErr(CycleReason, fmt.Errorf(
			"dependency cycle: %s: remove one of these dependsOn entries", depgraph.Format(cycle)))
	}
	return nil
}

// IndexField indexes Kustomizations and HelmReleases by IndexKey of each
// object they depend on.
const IndexField = ".metadata.dependsOnKind"

// IndexKey is the index entry of a dependency: "<kind>/<namespace>/<name>".
func IndexKey(kind, namespace, name string) string {
	return kind + "/" + namespace + "/" + name
}

// SetupIndexes adds IndexField on both kinds to the manager's cache.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	for own, k := range kinds {
		own := own
		err := mgr.GetFieldIndexer().IndexField(ctx, k.object(), IndexField, func(o client.Object) []string {
			d := o.(Dependent)
			keys := make([]string, 0, len(d.GetDependsOn()))
			for _, ref := range d.GetDependsOn() {
				key := Key(d, ref)
				keys = append(keys, IndexKey(ref.KindOr(own), key.Namespace, key.Name))
			}
			return keys
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Watch adds to b, the builder of the controller of kind own, the watches
// that keep dependency order across kinds: a Kustomization or HelmRelease
// becoming ready requeues the objects of kind own that depend on it at
// once, and one being deleted for good requeues the objects of kind own it
// depended on, which may be waiting for it to go (Finalize).
func Watch(b *builder.Builder, c client.Reader, own string) *builder.Builder {
	for kind, k := range kinds {
		kind := kind
		b = b.Watches(k.object(), handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
			return watch.Requests(ctx, c, kinds[own].list(), client.MatchingFields{
				IndexField: IndexKey(kind, o.GetNamespace(), o.GetName())})
		}), builder.WithPredicates(becameReady{}))
		b = b.Watches(k.object(), handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			return dependencies(o, kind, own)
		}), builder.WithPredicates(deleted{}))
	}
	return b
}

// dependencies returns requests for what o, of kind kind, depends on among
// the objects of kind own.
func dependencies(o client.Object, kind, own string) []reconcile.Request {
	d, ok := o.(Dependent)
	if !ok {
		return nil
	}
	var reqs []reconcile.Request
	for _, ref := range d.GetDependsOn() {
		if ref.KindOr(kind) == own {
			reqs = append(reqs, reconcile.Request{NamespacedName: Key(d, ref)})
		}
	}
	return reqs
}

// becameReady passes updates where Ready turned True or, while Ready, the
// observed generation or the applied revision moved: each may unblock the
// dependents.
type becameReady struct{ predicate.Funcs }

func (becameReady) Create(event.CreateEvent) bool   { return false }
func (becameReady) Delete(event.DeleteEvent) bool   { return false }
func (becameReady) Generic(event.GenericEvent) bool { return false }

func (becameReady) Update(e event.UpdateEvent) bool {
	oldD, ok1 := e.ObjectOld.(Dependent)
	newD, ok2 := e.ObjectNew.(Dependent)
	if !ok1 || !ok2 || !conditions.IsTrue(newD, fluxmeta.ReadyCondition) {
		return false
	}
	return !conditions.IsTrue(oldD, fluxmeta.ReadyCondition) || StateOf(oldD) != StateOf(newD)
}

// deleted passes the deletion of an object for good.
type deleted struct{ predicate.Funcs }

func (deleted) Create(event.CreateEvent) bool   { return false }
func (deleted) Update(event.UpdateEvent) bool   { return false }
func (deleted) Generic(event.GenericEvent) bool { return false }
func (deleted) Delete(event.DeleteEvent) bool   { return true }

// DependentsReason marks a deleted object that waits for its dependents.
const DependentsReason = "DependentsDeleting"

// Finalize holds back the finalization of obj, of kind own, while an object
// that depends on it is being deleted too, so that dependents are torn down
// before what they depend on: the CRDs, namespaces and operators a set
// installs outlive the objects that need them. An object whose dependents
// are not being deleted finalizes at once: deleting only a dependency is
// the user's call. The wait ends when the last dependent is gone (Watch
// requeues obj then); retry is a safety net.
func Finalize(ctx context.Context, c client.Reader, own string, obj client.Object, retry time.Duration) error {
	var waiting []string
	for _, kind := range []string{meta.KustomizationKind, meta.HelmReleaseKind} {
		k := kinds[kind]
		list := k.list()
		if err := c.List(ctx, list, client.MatchingFields{IndexField: IndexKey(own, obj.GetNamespace(), obj.GetName())}); err != nil {
			return outcome.RetryErr(DependentsReason, fmt.Errorf("failed to list the dependents: %w", err))
		}
		_ = apimeta.EachListItem(list, func(item runtime.Object) error {
			if o, ok := item.(client.Object); ok && !o.GetDeletionTimestamp().IsZero() {
				waiting = append(waiting, fmt.Sprintf("%s '%s/%s'", kind, o.GetNamespace(), o.GetName()))
			}
			return nil
		})
	}
	if len(waiting) == 0 {
		return nil
	}
	return outcome.WaitErr(DependentsReason, retry, fmt.Errorf(
		"waiting for the dependents being deleted to go first: %s", strings.Join(waiting, ", ")))
}
