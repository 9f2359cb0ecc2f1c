package backoff

import (
	"testing"
	"time"
)

func TestDelay(t *testing.T) {
	argo := Policy{Limit: 5, Duration: 5 * time.Second, Factor: 2, MaxDuration: 3 * time.Minute}
	tests := []struct {
		name    string
		policy  Policy
		attempt int
		want    time.Duration
	}{
		{"first retry waits duration", argo, 0, 5 * time.Second},
		{"second doubles", argo, 1, 10 * time.Second},
		{"fifth", argo, 4, 80 * time.Second},
		{"capped by maxDuration", argo, 6, 3 * time.Minute},
		{"no cap", Policy{Duration: time.Second, Factor: 3}, 4, 81 * time.Second},
		{"factor below one is constant", Policy{Duration: time.Second, Factor: 0}, 7, time.Second},
		{"huge attempt does not overflow", Policy{Duration: time.Second, Factor: 2}, 500, time.Duration(1<<63 - 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.policy.Delay(tt.attempt); got != tt.want {
				t.Fatalf("Delay(%d) = %s, want %s", tt.attempt, got, tt.want)
			}
		})
	}
}

func TestNext(t *testing.T) {
	failed := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	p := Policy{Limit: 2, Duration: 10 * time.Second, Factor: 2}
	if next, ok := p.Next(0, failed); !ok || !next.Equal(failed.Add(10*time.Second)) {
		t.Fatalf("first retry at %s (%v)", next, ok)
	}
	if next, ok := p.Next(1, failed); !ok || !next.Equal(failed.Add(20*time.Second)) {
		t.Fatalf("second retry at %s (%v)", next, ok)
	}
	if _, ok := p.Next(2, failed); ok {
		t.Fatal("a third retry past limit 2")
	}
	unlimited := Policy{Limit: -1, Duration: time.Second, Factor: 2, MaxDuration: time.Minute}
	if next, ok := unlimited.Next(1000, failed); !ok || !next.Equal(failed.Add(time.Minute)) {
		t.Fatalf("unlimited retry 1000 at %s (%v)", next, ok)
	}
	if _, ok := (Policy{Limit: 0, Duration: time.Second}).Next(0, failed); ok {
		t.Fatal("limit 0 retries")
	}
}
