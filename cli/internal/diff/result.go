// Package diff is the diff engine of `ferry diff`, `ferry build` and the
// web UI: it builds a Kustomization exactly as kustomize-controller does
// (pkg/kustomize, pkg/substitute) or renders a HelmRelease as
// helm-controller does (pkg/helmvalues and the Helm SDK), asks the API
// server for a server-side dry-run with the controller's own apply options
// (field manager, owner labels, force), and compares the result with the
// live objects. Because the dry-run goes through the same apply path,
// defaulting and managed fields do not show up as noise.
//
// It reads only the Flux APIs (the Kustomization or HelmRelease, its
// source's status.artifact, the release in Helm's storage), so it works
// against Flux's controllers too, and everything goes through the user's
// own client. Secret values never leave it: they are masked before any
// diff is computed, and SOPS-encrypted input is never decrypted.
package diff

// Action is what applying would do to one object.
type Action string

// Actions, as the summary counts them.
const (
	Created    Action = "created"
	Configured Action = "changed"
	// Replaced is an object whose immutable fields change and that the
	// controller's force option would delete and create again.
	Replaced  Action = "replaced"
	Pruned    Action = "pruned"
	Unchanged Action = "unchanged"
	Skipped   Action = "skipped"
)

// ObjectDiff is one object's outcome.
type ObjectDiff struct {
	// Ref is Kind/namespace/name (Kind/name for cluster-scoped objects).
	Ref       string `json:"ref"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Action    Action `json:"action"`
	// Drift is true for a change while Git has not moved: the cluster was
	// changed by hand since the last apply.
	Drift bool `json:"drift,omitempty"`
	// Diff is the unified diff, Secrets masked; empty when unchanged.
	Diff string `json:"diff,omitempty"`
	// Note says why an object is skipped or how it is shown.
	Note string `json:"note,omitempty"`
}

// Result is what applying would change.
type Result struct {
	// Revision is the source revision or the local path built.
	Revision string       `json:"revision,omitempty"`
	Objects  []ObjectDiff `json:"objects"`
	// Notes are things a person should know about the whole diff, e.g.
	// SOPS-encrypted inputs that were not decrypted.
	Notes []string `json:"notes,omitempty"`
}

// Changed is true when applying would change anything.
func (r *Result) Changed() bool {
	for _, o := range r.Objects {
		switch o.Action {
		case Created, Configured, Replaced, Pruned:
			return true
		}
	}
	return false
}

// Counts returns the number of objects per action.
func (r *Result) Counts() map[Action]int {
	out := map[Action]int{}
	for _, o := range r.Objects {
		out[o.Action]++
	}
	return out
}
