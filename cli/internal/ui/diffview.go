package ui

import "net/http"

// diff serves the diff against Git of a Kustomization or HelmRelease.
func (s *Server) diff(w http.ResponseWriter, r *http.Request) {
	s.render(w, "object.html", "diff", http.StatusOK, map[string]any{"Error": "the diff engine is not available yet"})
}
