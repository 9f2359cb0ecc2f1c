package outcome

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferrycd/ferry/pkg/apis/meta"
	"github.com/ferrycd/ferry/pkg/backoff"
)

// Retrier is implemented by objects whose failed reconciles are retried on
// their own schedule (Kustomizations and HelmReleases) rather than by
// controller-runtime's rate limiter: Finish requeues a Retry error after
// spec.retry's backoff, or, without a policy, after the fixed retry interval
// (Flux's retryInterval), and keeps the count and the next attempt in
// status so the backoff survives a restart and users can see it. Without a
// policy and with a zero interval (a HelmRelease without spec.retry, whose
// failures Flux retries with the rate limiter's backoff) the rate limiter
// retries it.
type Retrier interface {
	// GetRetry returns spec.retry; nil means the fixed retry interval.
	GetRetry() *meta.RetryPolicy
	// GetRetryInterval is the wait after a failure without a policy; zero
	// leaves it to the rate limiter.
	GetRetryInterval() time.Duration
	// GetRetryStatus returns the status part Finish writes.
	GetRetryStatus() *meta.RetryStatus
	// GetRetryRevision is what the failed attempt tried to apply (a source
	// revision, a chart version and values digest); a new value starts the
	// count again.
	GetRetryRevision() string
}

// Argo CD's defaults for an unset backoff field.
const (
	defaultBackoffDuration    = 5 * time.Second
	defaultBackoffFactor      = 2
	defaultBackoffMaxDuration = 3 * time.Minute
)

// Policy turns a spec.retry into the backoff it describes, filling Argo
// CD's defaults.
func Policy(p *meta.RetryPolicy) backoff.Policy {
	out := backoff.Policy{Limit: int(p.Limit), Duration: defaultBackoffDuration,
		Factor: defaultBackoffFactor, MaxDuration: defaultBackoffMaxDuration}
	if b := p.Backoff; b != nil {
		if b.Duration != nil {
			out.Duration = b.Duration.Duration
		}
		if b.Factor != nil {
			out.Factor = float64(*b.Factor)
		}
		if b.MaxDuration != nil {
			out.MaxDuration = b.MaxDuration.Duration
		}
	}
	return out
}

// ownRetrier returns obj as a Retrier when it retries a failure on its own
// schedule: it has a retry policy or a fixed retry interval.
func ownRetrier(obj Object) (Retrier, bool) {
	r, ok := obj.(Retrier)
	if !ok || r.GetRetry() == nil && r.GetRetryInterval() <= 0 {
		return nil, false
	}
	return r, true
}

// retrySucceeded clears the count: the next failure starts from the first
// backoff step again.
func retrySucceeded(obj Object) {
	if r, ok := obj.(Retrier); ok {
		*r.GetRetryStatus() = meta.RetryStatus{}
	}
}

// scheduleRetry records a failed attempt of r at now and returns when to
// try again, and a note for the condition message when the retry limit is
// used up (the object then waits for its interval: requeueAfter).
func scheduleRetry(r Retrier, generation int64, requeueAfter time.Duration, now time.Time) (time.Duration, string) {
	st := r.GetRetryStatus()
	if st.RetriedRevision != r.GetRetryRevision() || st.RetriedGeneration != generation {
		*st = meta.RetryStatus{RetriedRevision: r.GetRetryRevision(), RetriedGeneration: generation}
	}
	delay := r.GetRetryInterval()
	if spec := r.GetRetry(); spec != nil {
		p := Policy(spec)
		if p.Exhausted(int(st.Retries)) {
			st.NextRetryAt = nil
			return requeueAfter, fmt.Sprintf("retry limit of %d reached; next attempt at the interval, on a new revision or a spec change", spec.Limit)
		}
		delay = p.Delay(int(st.Retries))
	}
	st.Retries++
	next := metav1.NewTime(now.Add(delay))
	st.NextRetryAt = &next
	return delay, ""
}
