// Package ttlset remembers keys for a fixed window in bounded memory. The
// event endpoint uses it to answer repeated events with 429 (Flux's rate
// limit: one event per key per --rate-limit-interval), the webhook receiver
// to refuse replayed deliveries.
package ttlset

import (
	"sync"
	"time"
)

// Set remembers each admitted key until its window has passed.
type Set[K comparable] struct {
	window time.Duration
	max    int
	// Now returns the current time; tests replace it.
	Now func() time.Time

	mu        sync.Mutex
	expiry    map[K]int64
	lastSweep time.Time
}

// New returns a Set that remembers keys for window and holds at most max
// keys. A zero window remembers nothing, so every key is admitted.
func New[K comparable](window time.Duration, max int) *Set[K] {
	return &Set[K]{window: window, max: max, Now: time.Now, expiry: map[K]int64{}}
}

// Admit reports whether key is new: false when it was admitted less than the
// window ago. When the set is full of live keys it admits without
// remembering, so a flood of distinct keys degrades to repeats passing
// rather than to memory growth.
func (s *Set[K]) Admit(key K) bool {
	if s.window <= 0 {
		return true
	}
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if exp, ok := s.expiry[key]; ok && now.UnixNano() < exp {
		return false
	}
	// Sweep once per window, or once a second while full, so a flood never
	// pays a full scan per key.
	sinceSweep := now.Sub(s.lastSweep)
	if sinceSweep >= s.window || (len(s.expiry) >= s.max && sinceSweep >= time.Second) {
		s.sweep(now)
	}
	if len(s.expiry) >= s.max {
		return true
	}
	s.expiry[key] = now.Add(s.window).UnixNano()
	return true
}

// Forget drops key, so the next Admit of it succeeds; for work that was
// admitted but could not be done.
func (s *Set[K]) Forget(key K) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.expiry, key)
}

// Len returns how many keys are remembered, expired ones included until the
// next sweep.
func (s *Set[K]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.expiry)
}

// sweep forgets expired keys.
func (s *Set[K]) sweep(now time.Time) {
	for k, exp := range s.expiry {
		if now.UnixNano() >= exp {
			delete(s.expiry, k)
		}
	}
	s.lastSweep = now
}
