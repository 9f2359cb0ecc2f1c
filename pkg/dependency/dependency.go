// Package dependency is the one rule by which an object named in
// spec.dependsOn counts as ready, shared by Kustomizations and HelmReleases
// so that both kinds wait for the same thing (they had a copy each, and the
// copies had drifted apart in their messages and in which references
// --no-cross-namespace-refs refused).
//
// The rule is Flux's: the dependency is Ready=True for its current
// generation, and, where the dependent names a revision (a Kustomization
// built from the same source as its dependency), the dependency has applied
// that revision.
package dependency

import (
	"context"
	"errors"
	"fmt"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/pkg/apis/meta"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// Object is an object others can depend on.
type Object interface {
	client.Object
	conditions.Getter
}

// State is what the rule reads of a dependency besides its conditions and
// generation.
type State struct {
	// ObservedGeneration is the dependency's status.observedGeneration.
	ObservedGeneration int64
	// AppliedRevision is the source revision the dependency last applied
	// (a Kustomization's status.lastAppliedRevision).
	AppliedRevision string
	// WantRevision, when not empty, is the revision the dependent needs the
	// dependency to have applied: its own source's current revision, when
	// both are built from the same source.
	WantRevision string
}

// Ready returns nil when dep, in state st, may be relied on, and otherwise
// an error saying what is awaited. A dependency whose spec just changed
// (generation ahead of observedGeneration) is not ready even while its
// Ready condition still reports the previous generation.
func Ready(dep Object, st State) error {
	if !conditions.IsTrue(dep, fluxmeta.ReadyCondition) {
		return errors.New("is not ready")
	}
	if st.ObservedGeneration != dep.GetGeneration() {
		return fmt.Errorf("has not reconciled generation %d yet", dep.GetGeneration())
	}
	if st.WantRevision != "" && st.AppliedRevision != st.WantRevision {
		return fmt.Errorf("has not applied revision '%s' yet", st.WantRevision)
	}
	return nil
}

// Key is the object a dependsOn entry of obj names: its namespace defaults
// to obj's.
func Key(obj client.Object, ref meta.DependencyReference) types.NamespacedName {
	ns := ref.Namespace
	if ns == "" {
		ns = obj.GetNamespace()
	}
	return types.NamespacedName{Namespace: ns, Name: ref.Name}
}

// Error is why a dependency holds its dependent back.
type Error struct {
	// Key names the dependency.
	Key types.NamespacedName
	// Denied is set when the reference is refused (another namespace under
	// --no-cross-namespace-refs): waiting cannot help.
	Denied bool
	Err    error
}

func (e *Error) Error() string { return fmt.Sprintf("dependency '%s' %s", e.Key, e.Err) }

func (e *Error) Unwrap() error { return e.Err }

// Condition reasons, the same in both kinds (Flux's).
const (
	// NotReadyReason marks a dependent waiting on a dependency.
	NotReadyReason = "DependencyNotReady"
	// AccessDeniedReason marks a dependency reference that is refused.
	AccessDeniedReason = "AccessDenied"
)

// Outcome turns what Check returned into the dependent's outcome: a refused
// reference stalls, a dependency not ready yet is checked again after
// retry, and nil stays nil.
func Outcome(err error, retry time.Duration) error {
	var e *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e) && e.Denied:
		return outcome.StallErr(AccessDeniedReason, err)
	default:
		return outcome.WaitErr(NotReadyReason, retry, err)
	}
}

// Options tune Check.
type Options struct {
	// NoCrossNamespaceRefs refuses dependencies in another namespace than
	// the dependent's (--no-cross-namespace-refs).
	NoCrossNamespaceRefs bool
}

// Check applies Ready to each of refs, the dependsOn of obj, in order,
// reading each through c into an object from newObj and its State through
// state. It returns nil when all are ready, else an *Error for the first
// that is not.
func Check[T Object](ctx context.Context, c client.Reader, obj client.Object, refs []meta.DependencyReference,
	newObj func() T, state func(T) State, opts Options) error {
	for _, ref := range refs {
		key := Key(obj, ref)
		if opts.NoCrossNamespaceRefs && key.Namespace != obj.GetNamespace() {
			return &Error{Key: key, Denied: true,
				Err: errors.New("is in another namespace, which --no-cross-namespace-refs forbids")}
		}
		dep := newObj()
		if err := c.Get(ctx, key, dep); err != nil {
			if apierrors.IsNotFound(err) {
				return &Error{Key: key, Err: errors.New("not found")}
			}
			return &Error{Key: key, Err: fmt.Errorf("could not be read: %w", err)}
		}
		if err := Ready(dep, state(dep)); err != nil {
			return &Error{Key: key, Err: err}
		}
	}
	return nil
}
