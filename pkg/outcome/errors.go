// Package outcome is the one way every Ferry reconciler ends: the steps
// return nil or a typed error, and Finish turns that into kstatus-compatible
// conditions (Ready, Reconciling, Stalled), observedGeneration,
// lastHandledReconcileAt, a Warning event for failures, the reconcile
// duration metric, a single status patch and the controller-runtime result.
package outcome

import (
	"errors"
	"time"
)

// Kind says what a failed reconcile should do next.
type Kind int

const (
	// Retry: a transient failure; retry with the controller's backoff.
	Retry Kind = iota
	// Wait: something outside the object is not ready yet (a dependency, a
	// source without an artifact); check again after a delay, no backoff.
	Wait
	// Stall: retrying cannot help until the spec or a referenced object
	// changes; the object is marked Stalled and not requeued.
	Stall
	// Hold: a policy (a sync window) holds the reconcile back; nothing
	// failed, so Ready keeps what the last reconcile said, the generation
	// is not marked observed, and the object is looked at again after a
	// delay.
	Hold
	// Progress: nothing failed and the object converges without another
	// change (a rollout's Pods starting, a timed step running): Ready is
	// Unknown with the reason, Reconciling stays True, the generation is
	// marked observed, no Warning event is recorded, and the object is
	// looked at again after the delay.
	Progress
)

// Error is a failure with the condition reason it reports and what to do
// next. Its message is what the user reads on the Ready condition, so it
// says what to fix.
type Error struct {
	Kind   Kind
	Reason string
	Err    error
	// RequeueAfter applies to Wait and Hold; zero means the object's
	// interval.
	RequeueAfter time.Duration
	// Expected marks a Wait that is a step of normal progress, not a
	// failure (a HelmRelease's chart created a moment ago and not built
	// yet): Ready says so, but no Warning event is recorded, so that alerts
	// on Warning events do not fire for every new object.
	Expected bool
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// RetryErr reports a transient failure with the given reason.
func RetryErr(reason string, err error) error {
	return &Error{Kind: Retry, Reason: reason, Err: err}
}

// WaitErr reports that the object waits on something else for after.
func WaitErr(reason string, after time.Duration, err error) error {
	return &Error{Kind: Wait, Reason: reason, Err: err, RequeueAfter: after}
}

// ExpectedWaitErr reports a wait that is part of normal progress (see
// Error.Expected).
func ExpectedWaitErr(reason string, after time.Duration, err error) error {
	return &Error{Kind: Wait, Reason: reason, Err: err, RequeueAfter: after, Expected: true}
}

// HoldErr reports that a policy holds the reconcile back until after.
func HoldErr(reason string, after time.Duration, err error) error {
	return &Error{Kind: Hold, Reason: reason, Err: err, RequeueAfter: after}
}

// ProgressErr reports that the object is still converging, with a message
// that says on what, to be looked at again after after (zero: when watched
// objects change).
func ProgressErr(reason string, after time.Duration, err error) error {
	return &Error{Kind: Progress, Reason: reason, Err: err, RequeueAfter: after}
}

// StallErr reports a failure that retrying cannot fix.
func StallErr(reason string, err error) error {
	return &Error{Kind: Stall, Reason: reason, Err: err}
}

// As returns the typed error in err's chain, or a Retry error with
// fallbackReason for an untyped one.
func As(err error, fallbackReason string) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: Retry, Reason: fallbackReason, Err: err}
}
