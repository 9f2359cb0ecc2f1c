// Package server publishes stored artifacts over HTTP so that the appliers can fetch
// them from the URL in status.artifact.
//
// Unlike Flux, the server does not wait for leader election: every source-controller
// replica serves its own storage, so a Service in front of several replicas never
// routes a consumer to a replica that refuses to answer (flux2#836). The handler is
// read-only, lists no directories and resolves every request under the base path, so
// a crafted URL cannot reach any other file on the node.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// shutdownTimeout bounds how long Start waits for downloads in flight once its
// context ends, so that a stuck client cannot hold up the process exit.
const shutdownTimeout = 10 * time.Second

// Handler serves the regular files under basePath for GET and HEAD, with range and
// conditional request support. Directories, missing files and anything that is not a
// regular file answer 404; other methods answer 405.
func Handler(basePath string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := path.Clean("/" + r.URL.Path)
		if name == "/" {
			http.NotFound(w, r)
			return
		}
		local, err := securejoin.SecureJoin(basePath, name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		f, err := os.Open(local)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil || !info.Mode().IsRegular() {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, info.Name(), info.ModTime(), f)
	})
}

// Server runs Handler as a controller-runtime manager.Runnable.
type Server struct {
	// Addr is the address to listen on, such as ":9090".
	Addr string
	// BasePath is the storage directory to serve.
	BasePath string
}

var (
	_ manager.Runnable               = (*Server)(nil)
	_ manager.LeaderElectionRunnable = (*Server)(nil)
)

// Start listens on Addr and serves until ctx ends, then stops accepting connections
// and lets downloads in flight finish for up to shutdownTimeout. It returns an error
// if it cannot listen or the server fails; a shutdown because ctx ended is not an
// error.
func (s *Server) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("artifact server failed to listen on %q: %w", s.Addr, err)
	}
	srv := &http.Server{
		Handler:           Handler(s.BasePath),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("artifact server stopped: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
		return fmt.Errorf("artifact server shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("artifact server stopped: %w", err)
	}
	return nil
}

// NeedLeaderElection returns false so that every replica serves its artifacts.
func (s *Server) NeedLeaderElection() bool {
	return false
}
