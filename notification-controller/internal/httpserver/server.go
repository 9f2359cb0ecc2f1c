// Package httpserver runs the notification-controller's two HTTP endpoints
// (events and webhooks) as manager Runnables with the same hardening.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Limits of both HTTP servers, as Flux set them after its 2025 hardening: a
// sender gets 30 seconds to deliver a request, headers are capped at 256 KiB
// and bodies at MaxBodyBytes, so a slow or huge request cannot pin memory or
// goroutines.
const (
	MaxBodyBytes      = 3 << 20
	maxHeaderBytes    = 256 << 10
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	shutdownTimeout   = 10 * time.Second
)

// Server runs an HTTP handler as a manager Runnable. It does not need
// leader election: every replica answers the requests its Service sends it.
type Server struct {
	// Name is used in errors, e.g. "event server".
	Name string
	// Addr is the listen address, e.g. ":9090".
	Addr    string
	Handler http.Handler
}

var (
	_ manager.Runnable               = (*Server)(nil)
	_ manager.LeaderElectionRunnable = (*Server)(nil)
)

// NeedLeaderElection returns false: the servers run on every replica.
func (s *Server) NeedLeaderElection() bool { return false }

// Start listens, serves until ctx is done and then drains in-flight requests.
// A listen failure is returned at once, so the manager (and the process)
// stops instead of running without its endpoint.
func (s *Server) Start(ctx context.Context) error {
	l, err := s.Listen()
	if err != nil {
		return err
	}
	return s.Serve(ctx, l)
}

// Listen opens the listening socket.
func (s *Server) Listen() (net.Listener, error) {
	l, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return nil, fmt.Errorf("%s cannot listen on %s: %w", s.Name, s.Addr, err)
	}
	return l, nil
}

// Serve serves on l until ctx is done, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler,
		MaxHeaderBytes:    maxHeaderBytes,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("%s stopped: %w", s.Name, err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s shutdown: %w", s.Name, err)
	}
	return nil
}
