package v2

import (
	"cmp"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Helm release states and test phases the history logic looks at.
const (
	// SnapshotStatusDeployed is the Helm status of the release in use.
	SnapshotStatusDeployed = "deployed"
	// SnapshotStatusSuperseded is the Helm status of a release replaced by a
	// newer one.
	SnapshotStatusSuperseded = "superseded"
	// TestHookPhaseFailed is the phase of a test hook that failed.
	TestHookPhaseFailed = "Failed"
)

// Snapshot is a copy of what the controller knew about one Helm release
// version when it made or observed it.
type Snapshot struct {
	// apiVersion tells how digest was computed, should that ever change.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// digest of the release object in Helm storage, as "<algorithm>:<hex>".
	// +required
	Digest string `json:"digest"`

	// name of the release.
	// +required
	Name string `json:"name"`

	// namespace the release was made in.
	// +required
	Namespace string `json:"namespace"`

	// version of the release in Helm storage.
	// +required
	Version int `json:"version"`

	// status of the release in Helm storage, e.g. deployed, superseded,
	// failed.
	// +required
	Status string `json:"status"`

	// chartName is the name of the released chart.
	// +required
	ChartName string `json:"chartName"`

	// chartVersion is the version of the released chart.
	// +required
	ChartVersion string `json:"chartVersion"`

	// appVersion is the app version of the released chart.
	// +optional
	AppVersion string `json:"appVersion,omitempty"`

	// configDigest is the digest of the values of the release, as
	// "<algorithm>:<hex>".
	// +required
	ConfigDigest string `json:"configDigest"`

	// firstDeployed is when the first version of the release was made.
	// +required
	FirstDeployed metav1.Time `json:"firstDeployed"`

	// lastDeployed is when this version of the release was made.
	// +required
	LastDeployed metav1.Time `json:"lastDeployed"`

	// deleted is when the release was uninstalled.
	// +optional
	Deleted metav1.Time `json:"deleted,omitempty"`

	// testHooks are the test hooks the controller saw run for this version,
	// by name. An empty map means the tests ran and the chart has none.
	// +optional
	TestHooks *map[string]*TestHookStatus `json:"testHooks,omitempty"`

	// ociDigest is the digest of the OCI artifact the chart came from.
	// +optional
	OCIDigest string `json:"ociDigest,omitempty"`
}

// TestHookStatus is what the controller saw of one test hook run.
type TestHookStatus struct {
	// lastStarted is when the hook last started.
	// +optional
	LastStarted metav1.Time `json:"lastStarted,omitempty"`

	// lastCompleted is when the hook last completed.
	// +optional
	LastCompleted metav1.Time `json:"lastCompleted,omitempty"`

	// phase the hook was last seen in, e.g. Succeeded or Failed.
	// +optional
	Phase string `json:"phase,omitempty"`
}

// FullReleaseName returns "<namespace>/<name>.v<version>", the way Helm
// names a release version.
func (in *Snapshot) FullReleaseName() string {
	if in == nil {
		return ""
	}
	return fmt.Sprintf("%s/%s.v%d", in.Namespace, in.Name, in.Version)
}

// VersionedChartName returns "<chartName>@<chartVersion>".
func (in *Snapshot) VersionedChartName() string {
	if in == nil {
		return ""
	}
	return in.ChartName + "@" + in.ChartVersion
}

// HasBeenTested reports whether tests ran for this version, even if the
// chart has none.
func (in *Snapshot) HasBeenTested() bool {
	return in != nil && in.TestHooks != nil
}

// GetTestHooks returns the test hooks, nil when tests did not run.
func (in *Snapshot) GetTestHooks() map[string]*TestHookStatus {
	if !in.HasBeenTested() {
		return nil
	}
	return *in.TestHooks
}

// SetTestHooks records the test hooks; a nil map is ignored so that "not
// tested" is never recorded by mistake.
func (in *Snapshot) SetTestHooks(hooks map[string]*TestHookStatus) {
	if in == nil || hooks == nil {
		return
	}
	in.TestHooks = &hooks
}

// HasTestInPhase reports whether any test hook is in the given phase.
func (in *Snapshot) HasTestInPhase(phase string) bool {
	for _, h := range in.GetTestHooks() {
		if h != nil && h.Phase == phase {
			return true
		}
	}
	return false
}

// Targets reports whether the snapshot is of the given release version.
func (in *Snapshot) Targets(name, namespace string, version int) bool {
	return in != nil && in.Name == name && in.Namespace == namespace && in.Version == version
}

// Snapshots is a release history, newest first once sorted.
type Snapshots []*Snapshot

// SortByVersion sorts the history newest first.
func (in Snapshots) SortByVersion() {
	slices.SortStableFunc(in, func(a, b *Snapshot) int {
		return cmp.Compare(b.Version, a.Version)
	})
}

// Latest returns the newest snapshot, or nil for an empty history.
func (in Snapshots) Latest() *Snapshot {
	if len(in) == 0 {
		return nil
	}
	in.SortByVersion()
	return in[0]
}

// Previous returns the newest snapshot before the latest one that a rollback
// could return to: deployed or superseded and, unless ignoreTests, without a
// failed test. It returns nil when there is none.
func (in Snapshots) Previous(ignoreTests bool) *Snapshot {
	if i := in.previousIndex(ignoreTests); i > 0 {
		return in[i]
	}
	return nil
}

// Truncate drops every snapshot older than Previous. Without a Previous it
// keeps the newest five, the default Helm history length.
func (in *Snapshots) Truncate(ignoreTests bool) {
	if i := in.previousIndex(ignoreTests); i > 0 {
		*in = (*in)[:i+1]
		return
	}
	if len(*in) > defaultMaxHistory {
		*in = (*in)[:defaultMaxHistory]
	}
}

// previousIndex sorts the history and returns the index of Previous, or -1.
func (in Snapshots) previousIndex(ignoreTests bool) int {
	if len(in) < 2 {
		return -1
	}
	in.SortByVersion()
	for i := 1; i < len(in); i++ {
		s := in[i]
		if s.Status != SnapshotStatusDeployed && s.Status != SnapshotStatusSuperseded {
			continue
		}
		if ignoreTests || !s.HasTestInPhase(TestHookPhaseFailed) {
			return i
		}
	}
	return -1
}
