package release

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	helmrelease "helm.sh/helm/v3/pkg/release"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	"github.com/ferrycd/ferry/pkg/helmvalues"
)

// Observe turns the latest release in storage, and the history before it,
// into the Current the decision needs. rel may be nil. The values digest
// is the one recorded in snapshots when this controller made the version
// (with upgrade.preserveValues Helm stores merged values, which would
// never match), else the digest of the values Helm stored.
func Observe(rel *helmrelease.Release, history []*helmrelease.Release, recorded helmv2.Snapshots) *Current {
	if rel == nil {
		return nil
	}
	c := &Current{Version: rel.Version, ConfigDigest: helmvalues.Digest(rel.Config)}
	for _, snap := range recorded {
		if snap.Targets(rel.Name, rel.Namespace, rel.Version) && snap.ConfigDigest != "" {
			c.ConfigDigest = snap.ConfigDigest
		}
	}
	if rel.Info != nil {
		c.Status = rel.Info.Status.String()
	}
	if rel.Chart != nil && rel.Chart.Metadata != nil {
		c.ChartName, c.ChartVersion = rel.Chart.Metadata.Name, rel.Chart.Metadata.Version
	}
	hooks := testHooks(rel)
	// A chart without test hooks leaves nothing in the release to say the
	// test action ran; the snapshot records it as an empty map instead.
	c.Tested = hooks != nil
	for _, snap := range recorded {
		if snap.Targets(rel.Name, rel.Namespace, rel.Version) && snap.HasBeenTested() {
			c.Tested = true
		}
	}
	for _, h := range hooks {
		if h.Phase == helmv2.TestHookPhaseFailed {
			c.TestFailed = true
		}
	}
	for _, h := range history {
		if h != nil && h.Version < rel.Version && h.Info != nil &&
			(h.Info.Status == helmrelease.StatusDeployed || h.Info.Status == helmrelease.StatusSuperseded) {
			c.HasPrevious = true
		}
	}
	return c
}

// SetConfigDigest records digest as the values digest of the snapshot of
// rel: the digest of the values this controller asked for.
func SetConfigDigest(history helmv2.Snapshots, rel *helmrelease.Release, digest string) {
	for _, snap := range history {
		if rel != nil && snap.Targets(rel.Name, rel.Namespace, rel.Version) {
			snap.ConfigDigest = digest
		}
	}
}

// MarkTested records in rel's snapshot that its test action succeeded:
// the hooks that ran, or an empty map when the chart has none, so a chart
// without tests counts as tested and is not tested again. It returns how
// many test hooks ran.
func MarkTested(history helmv2.Snapshots, rel *helmrelease.Release) int {
	if rel == nil {
		return 0
	}
	hooks := testHooks(rel)
	if hooks == nil {
		hooks = map[string]*helmv2.TestHookStatus{}
	}
	for _, snap := range history {
		if snap.Targets(rel.Name, rel.Namespace, rel.Version) {
			snap.SetTestHooks(hooks)
		}
	}
	return len(hooks)
}

// Snapshot records rel as a status.history entry.
func Snapshot(rel *helmrelease.Release) *helmv2.Snapshot {
	s := &helmv2.Snapshot{
		APIVersion:   "v2",
		Digest:       digest(rel),
		Name:         rel.Name,
		Namespace:    rel.Namespace,
		Version:      rel.Version,
		ConfigDigest: helmvalues.Digest(rel.Config),
	}
	if rel.Chart != nil && rel.Chart.Metadata != nil {
		s.ChartName = rel.Chart.Metadata.Name
		s.ChartVersion = rel.Chart.Metadata.Version
		s.AppVersion = rel.Chart.Metadata.AppVersion
	}
	if rel.Info != nil {
		s.Status = rel.Info.Status.String()
		s.FirstDeployed = metav1.NewTime(rel.Info.FirstDeployed.Time)
		s.LastDeployed = metav1.NewTime(rel.Info.LastDeployed.Time)
		if !rel.Info.Deleted.IsZero() {
			s.Deleted = metav1.NewTime(rel.Info.Deleted.Time)
		}
	}
	s.SetTestHooks(testHooks(rel))
	return s
}

// Sync records the latest release and refreshes every history entry whose
// version storage still holds, so superseded versions do not stay
// "deployed" in status.
func Sync(history *helmv2.Snapshots, latest *helmrelease.Release, stored []*helmrelease.Release) {
	for _, rel := range stored {
		if rel == nil || rel == latest {
			continue
		}
		for i, old := range *history {
			if old.Targets(rel.Name, rel.Namespace, rel.Version) {
				(*history)[i] = carry(old, Snapshot(rel))
			}
		}
	}
	Record(history, latest)
}

// Record puts a snapshot of rel into history, replacing the entry of the
// same release version, and keeps history newest first.
func Record(history *helmv2.Snapshots, rel *helmrelease.Release) {
	if rel == nil {
		return
	}
	s := Snapshot(rel)
	for i, old := range *history {
		if old.Targets(s.Name, s.Namespace, s.Version) {
			(*history)[i] = carry(old, s)
			history.SortByVersion()
			return
		}
	}
	*history = append(*history, s)
	history.SortByVersion()
}

// carry moves what only the controller knows of a release version from
// its old snapshot to a fresh one: the values and OCI digests it asked for
// and, when the release itself shows no test hook run, that its tests ran.
func carry(old, s *helmv2.Snapshot) *helmv2.Snapshot {
	s.ConfigDigest, s.OCIDigest = old.ConfigDigest, old.OCIDigest
	if !s.HasBeenTested() {
		s.TestHooks = old.TestHooks
	}
	return s
}

// testHooks returns the test hooks of rel that ran, by name, or nil when
// none ran.
func testHooks(rel *helmrelease.Release) map[string]*helmv2.TestHookStatus {
	var hooks map[string]*helmv2.TestHookStatus
	for _, h := range rel.Hooks {
		if h == nil || !isTest(h) || h.LastRun.StartedAt.IsZero() {
			continue
		}
		if hooks == nil {
			hooks = map[string]*helmv2.TestHookStatus{}
		}
		st := &helmv2.TestHookStatus{
			LastStarted: metav1.NewTime(h.LastRun.StartedAt.Time),
			Phase:       h.LastRun.Phase.String(),
		}
		if !h.LastRun.CompletedAt.IsZero() {
			st.LastCompleted = metav1.NewTime(h.LastRun.CompletedAt.Time)
		}
		hooks[h.Name] = st
	}
	return hooks
}

func isTest(h *helmrelease.Hook) bool {
	for _, e := range h.Events {
		if e == helmrelease.HookTest {
			return true
		}
	}
	return false
}

// digest fingerprints what the controller observed of a release version.
func digest(rel *helmrelease.Release) string {
	obs := struct {
		Name, Namespace, Status, Manifest string
		Version                           int
		Config                            map[string]any
	}{Name: rel.Name, Namespace: rel.Namespace, Version: rel.Version, Manifest: rel.Manifest, Config: rel.Config}
	if rel.Info != nil {
		obs.Status = rel.Info.Status.String()
	}
	b, _ := json.Marshal(obs)
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
