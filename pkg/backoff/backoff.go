// Package backoff computes when a failed Kustomization or HelmRelease is
// tried again under a `retry` policy, with Argo CD's formula: the n-th retry
// (n from 0) waits min(maxDuration, duration × factor^n). It is a pure
// function of the policy and the attempt count, so the timing is
// table-tested with a fixed clock; the controllers keep the count in status.
package backoff

import (
	"math"
	"time"
)

// Policy is a retry policy as the spec gives it.
type Policy struct {
	// Limit is how many retries are made; a negative limit means unlimited.
	Limit int
	// Duration is the wait before the first retry.
	Duration time.Duration
	// Factor multiplies the wait after each retry; below 1 counts as 1.
	Factor float64
	// MaxDuration caps the wait; zero means no cap.
	MaxDuration time.Duration
}

// Delay is the wait before retry number attempt (0 for the first retry).
func (p Policy) Delay(attempt int) time.Duration {
	factor := p.Factor
	if factor < 1 {
		factor = 1
	}
	d := float64(p.Duration) * math.Pow(factor, float64(attempt))
	if p.MaxDuration > 0 && d > float64(p.MaxDuration) {
		return p.MaxDuration
	}
	if d > math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(d)
}

// Exhausted reports whether attempts retries have used up the limit.
func (p Policy) Exhausted(attempts int) bool {
	return p.Limit >= 0 && attempts >= p.Limit
}

// Next is when retry number attempt is due after a failure at failedAt, and
// false when the limit is used up.
func (p Policy) Next(attempt int, failedAt time.Time) (time.Time, bool) {
	if p.Exhausted(attempt) {
		return time.Time{}, false
	}
	return failedAt.Add(p.Delay(attempt)), true
}
