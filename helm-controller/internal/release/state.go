// Package release decides what a HelmRelease needs next and turns Helm
// releases into status snapshots. Everything here is pure: given the spec,
// the desired chart and values and what Helm storage holds, it says which
// action to run, so the decisions are tested in tables without a cluster.
package release

import (
	"fmt"
	"strings"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
)

// Action is the next thing to do to a release.
type Action string

const (
	// None: the release is in sync; nothing to do.
	None Action = "none"
	// Install: no release exists (or it was uninstalled).
	Install Action = "install"
	// Upgrade: the chart or values changed, or an upgrade was forced.
	Upgrade Action = "upgrade"
	// Test: the release is deployed but its tests have not run.
	Test Action = "test"
	// Rollback remediates a failed upgrade by returning to the previous
	// successful version.
	Rollback Action = "rollback"
	// Uninstall remediates a failed install, or a failed upgrade whose
	// strategy is uninstall or which has nothing to roll back to.
	Uninstall Action = "uninstall"
	// Unlock marks a release left pending by an interrupted action as
	// failed, so it can be remediated or upgraded.
	Unlock Action = "unlock"
	// Stall: retries are exhausted; nothing runs until the spec changes or
	// a reset or force is requested.
	Stall Action = "stall"
)

// Helm release statuses, as Helm stores them.
const (
	StatusDeployed        = "deployed"
	StatusFailed          = "failed"
	StatusUninstalled     = "uninstalled"
	StatusSuperseded      = "superseded"
	StatusUninstalling    = "uninstalling"
	StatusPendingInstall  = "pending-install"
	StatusPendingUpgrade  = "pending-upgrade"
	StatusPendingRollback = "pending-rollback"
)

// Current is what Helm storage holds for the release: its latest version.
type Current struct {
	Version      int
	Status       string
	ChartName    string
	ChartVersion string
	// ConfigDigest is the digest of the values the release was made with.
	ConfigDigest string
	// Tested reports whether the release's test hooks ran.
	Tested bool
	// TestFailed reports whether one of them failed.
	TestFailed bool
	// HasPrevious reports whether an earlier deployed or superseded
	// version exists to roll back to.
	HasPrevious bool
}

// Desired is the release the spec asks for.
type Desired struct {
	ChartName    string
	ChartVersion string
	ConfigDigest string
	// Force is set when a reconcile.fluxcd.io/forceAt request is pending.
	Force bool
	// PostRenderersChanged is set when spec.postRenderers differ from those
	// of the last successful release.
	PostRenderersChanged bool
}

// Decision is the next action with a message a user can read.
type Decision struct {
	Action  Action
	Message string
}

// Decide returns what to do next for obj, given the desired release and
// the current one in storage (nil when there is none). It reads obj's spec
// and its status counters and last attempted action; it changes nothing.
func Decide(obj *helmv2.HelmRelease, want Desired, cur *Current) Decision {
	if cur == nil || cur.Status == StatusUninstalled {
		rem := obj.GetInstall().GetRemediation()
		if !want.Force && obj.Status.LastAttemptedReleaseAction == helmv2.ReleaseActionInstall && rem.RetriesExhausted(obj) &&
			obj.GetActiveRetry() == nil {
			return stall("install", rem, obj)
		}
		return Decision{Install, "no release in storage"}
	}
	switch cur.Status {
	case StatusPendingInstall, StatusPendingUpgrade, StatusPendingRollback, StatusUninstalling:
		return Decision{Unlock, fmt.Sprintf("release v%d is locked in status '%s' by an interrupted action", cur.Version, cur.Status)}
	case StatusFailed:
		return decideFailed(obj, want, cur, fmt.Sprintf("release v%d has failed", cur.Version))
	}
	if d, changed := outOfSync(want, cur); changed {
		rem := obj.GetActiveRemediation()
		if !want.Force && rem != nil && rem.RetriesExhausted(obj) && obj.GetActiveRetry() == nil {
			return stall(string(obj.Status.LastAttemptedReleaseAction), rem, obj)
		}
		return Decision{Upgrade, d}
	}
	if cur.Status != StatusDeployed {
		return Decision{Upgrade, fmt.Sprintf("release v%d is in status '%s'", cur.Version, cur.Status)}
	}
	test := obj.GetTest()
	if test.Enable && !cur.Tested {
		return Decision{Test, fmt.Sprintf("release v%d has not been tested", cur.Version)}
	}
	if test.Enable && cur.TestFailed && !testFailuresIgnored(obj) {
		return decideFailed(obj, want, cur, fmt.Sprintf("tests of release v%d failed", cur.Version))
	}
	return Decision{None, fmt.Sprintf("release v%d is in sync", cur.Version)}
}

// decideFailed picks the remediation of a failed release, or stalls when
// retries are exhausted and the last failure is not to be remediated. With
// the RetryOnFailure strategy it never remediates nor stalls: it retries
// with an upgrade (the reconciler waits retryInterval between attempts).
func decideFailed(obj *helmv2.HelmRelease, want Desired, cur *Current, why string) Decision {
	rem := obj.GetActiveRemediation()
	if rem == nil {
		// Failed before this controller acted on it: try to move forward.
		return Decision{Upgrade, why}
	}
	if obj.GetActiveRetry() != nil {
		return Decision{Upgrade, why + "; retrying with an upgrade (strategy RetryOnFailure)"}
	}
	if want.Force {
		return Decision{Upgrade, why + "; an upgrade is forced"}
	}
	if rem.GetFailureCount(obj) == 0 {
		// The failure belongs to an earlier desired state (counters were
		// reset by a change): move forward rather than remediate.
		return Decision{Upgrade, why}
	}
	if rem.RetriesExhausted(obj) && !rem.MustRemediateLastFailure() {
		return stall(string(obj.Status.LastAttemptedReleaseAction), rem, obj)
	}
	if rem.GetStrategy() == helmv2.RollbackRemediationStrategy && cur.HasPrevious {
		return Decision{Rollback, why + "; rolling back to the previous successful version"}
	}
	return Decision{Uninstall, why + "; uninstalling it"}
}

// outOfSync reports whether the release differs from the desired state, and
// how.
func outOfSync(want Desired, cur *Current) (string, bool) {
	var diffs []string
	if cur.ChartName != want.ChartName {
		diffs = append(diffs, fmt.Sprintf("chart '%s' differs from '%s'", cur.ChartName, want.ChartName))
	}
	if cur.ChartVersion != want.ChartVersion {
		diffs = append(diffs, fmt.Sprintf("chart version '%s' differs from '%s'", cur.ChartVersion, want.ChartVersion))
	}
	if cur.ConfigDigest != want.ConfigDigest {
		diffs = append(diffs, "values changed")
	}
	if want.PostRenderersChanged {
		diffs = append(diffs, "post-renderers changed")
	}
	if want.Force {
		diffs = append(diffs, "an upgrade is forced")
	}
	return strings.Join(diffs, ", "), len(diffs) > 0
}

func testFailuresIgnored(obj *helmv2.HelmRelease) bool {
	def := obj.GetTest().IgnoreFailures
	if rem := obj.GetActiveRemediation(); rem != nil {
		return rem.MustIgnoreTestFailures(def)
	}
	return def
}

func stall(action string, rem helmv2.Remediation, obj *helmv2.HelmRelease) Decision {
	return Decision{Stall, fmt.Sprintf("%s retries exhausted after %d failures (retries: %d)",
		action, rem.GetFailureCount(obj), rem.GetRetries())}
}
