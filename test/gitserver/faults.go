package gitserver

import (
	"net/http"
)

// Fault is how the server misbehaves, for the fault suite.
type Fault int32

const (
	// Healthy serves every request.
	Healthy Fault = iota
	// Down drops every connection without an answer, as a crashed or
	// unreachable host does: clients see the connection closed mid-request.
	Down
	// Flapping fails every other request with 503 Service Unavailable,
	// starting with the first one after the fault is set.
	Flapping
)

// SetFault makes the server misbehave (or recover, with Healthy) from the
// next request on.
func (s *Server) SetFault(f Fault) {
	s.requests.Store(0)
	s.fault.Store(int32(f))
}

// Failed returns how many requests the server has failed on purpose.
func (s *Server) Failed() int64 { return s.failed.Load() }

// injectFaults applies the current Fault before any Git handling.
func (s *Server) injectFaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch Fault(s.fault.Load()) {
		case Down:
			s.failed.Add(1)
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.Close()
					return
				}
			}
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		case Flapping:
			if s.requests.Add(1)%2 == 1 {
				s.failed.Add(1)
				http.Error(w, "flapping", http.StatusServiceUnavailable)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
