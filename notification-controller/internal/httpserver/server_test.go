package httpserver

import (
	"context"
	"net"
	"net/http"
	"testing"
)

// TestStartServesAndStops checks the Runnable serves until its context ends
// and returns nil after a clean shutdown.
func TestStartServesAndStops(t *testing.T) {
	s := &Server{Name: "test", Addr: "127.0.0.1:0", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})}
	l, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()

	resp, err := http.Get("http://" + l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot {
		t.Fatalf("status %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s.NeedLeaderElection() {
		t.Fatal("the servers must run on every replica")
	}
}

// TestStartFailsWhenAddressTaken checks a listen failure ends Start at once
// with an error naming the server, which stops the manager.
func TestStartFailsWhenAddressTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = (&Server{Name: "event server", Addr: l.Addr().String(), Handler: http.NotFoundHandler()}).Start(context.Background())
	if err == nil {
		t.Fatal("want an error")
	}
}
