package actions

import (
	"context"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/cli/internal/objects"
)

// Options tune Reconcile.
type Options struct {
	// WithSource reconciles the object's source first and waits for it.
	WithSource bool
	// Force sets forceAt with requestedAt (see ForceAtAnnotation).
	Force bool
	// Timeout bounds each wait; zero means five minutes.
	Timeout time.Duration
	// Interval is how often the status is read; zero means 500ms.
	Interval time.Duration
	// Progress, when set, is told each step as it starts.
	Progress func(format string, args ...any)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (o Options) defaults() Options {
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.Interval == 0 {
		o.Interval = 500 * time.Millisecond
	}
	if o.Progress == nil {
		o.Progress = func(string, ...any) {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Reconcile requests a reconcile of ref (its source first with
// WithSource) and waits for the outcome, as `flux reconcile` does. The
// error wraps ErrNotReady when the object ended not Ready.
func Reconcile(ctx context.Context, c client.Client, ref Ref, o Options) (objects.Summary, error) {
	o = o.defaults()
	if o.WithSource {
		obj, err := objects.Get(ctx, c, ref.Kind, ref.Namespace, ref.Name)
		if err != nil {
			return objects.Summary{}, describe(ref, "get", err)
		}
		src, err := SourceOf(obj)
		if err != nil {
			return objects.Summary{}, err
		}
		if _, err := once(ctx, c, src, false, o); err != nil {
			return objects.Summary{}, err
		}
	}
	return once(ctx, c, ref, o.Force, o)
}

func once(ctx context.Context, c client.Client, ref Ref, force bool, o Options) (objects.Summary, error) {
	o.Progress("requesting a reconcile of %s", ref)
	req, err := RequestReconcile(ctx, c, ref, force, o.Now())
	if err != nil {
		return objects.Summary{}, err
	}
	o.Progress("waiting for %s to handle it", ref)
	return Wait(ctx, c, req, o.Interval, o.Timeout)
}

// Resume clears spec.suspend and waits for the reconcile it triggers, as
// `flux resume` does; the request makes the controller act at once rather
// than at its next interval.
func Resume(ctx context.Context, c client.Client, ref Ref, o Options) (objects.Summary, error) {
	o = o.defaults()
	o.Progress("resuming %s", ref)
	if err := SetSuspend(ctx, c, ref, false); err != nil {
		return objects.Summary{}, err
	}
	return once(ctx, c, ref, false, o)
}
