package ttlset

import (
	"testing"
	"time"
)

func TestWindowAndBound(t *testing.T) {
	now := time.Unix(0, 0)
	s := New[string](time.Minute, 2)
	s.Now = func() time.Time { return now }
	check := func(key string, want bool) {
		t.Helper()
		if got := s.Admit(key); got != want {
			t.Fatalf("Admit(%q) at %v = %v, want %v", key, now, got, want)
		}
	}
	check("a", true)
	check("a", false)
	now = now.Add(59 * time.Second)
	check("a", false)
	check("b", true)
	// Full of live keys: admitted, not remembered.
	check("c", true)
	check("c", true)
	now = now.Add(2 * time.Second)
	check("a", true)
	if s.Len() > 2 {
		t.Fatalf("Len() = %d, want at most 2", s.Len())
	}
}

func TestZeroWindowAdmitsAll(t *testing.T) {
	s := New[int](0, 10)
	if !s.Admit(1) || !s.Admit(1) {
		t.Fatal("a zero window must admit every key")
	}
}

func TestForget(t *testing.T) {
	s := New[string](time.Minute, 10)
	s.Admit("a")
	s.Forget("a")
	if !s.Admit("a") {
		t.Fatal("a forgotten key must be admitted again")
	}
}
