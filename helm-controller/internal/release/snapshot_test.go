package release

import (
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	helmrelease "helm.sh/helm/v3/pkg/release"
	helmtime "helm.sh/helm/v3/pkg/time"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
)

// deployed is version v of release "app", deployed, with the given hooks.
func deployed(v int, hooks ...*helmrelease.Hook) *helmrelease.Release {
	now := helmtime.Time{Time: time.Now()}
	return &helmrelease.Release{
		Name: "app", Namespace: "ns", Version: v,
		Info:  &helmrelease.Info{Status: helmrelease.StatusDeployed, FirstDeployed: now, LastDeployed: now},
		Chart: &chart.Chart{Metadata: &chart.Metadata{Name: "app", Version: "1.0.0"}},
		Hooks: hooks,
	}
}

func ranTestHook(phase helmrelease.HookPhase) *helmrelease.Hook {
	now := helmtime.Time{Time: time.Now()}
	return &helmrelease.Hook{Name: "app-test", Events: []helmrelease.HookEvent{helmrelease.HookTest},
		LastRun: helmrelease.HookExecution{StartedAt: now, CompletedAt: now, Phase: phase}}
}

func TestObserveTested(t *testing.T) {
	for _, tt := range []struct {
		name       string
		rel        *helmrelease.Release
		markTested *helmrelease.Release // the release whose test action succeeded, if any
		tested     bool
		failed     bool
	}{
		{name: "no hooks, test never ran", rel: deployed(1)},
		{name: "no hooks, test action succeeded", rel: deployed(1), markTested: deployed(1), tested: true},
		{name: "no hooks, an earlier version was tested", rel: deployed(2), markTested: deployed(1)},
		{name: "test hook ran and passed", rel: deployed(1, ranTestHook(helmrelease.HookPhaseSucceeded)), tested: true},
		{name: "test hook ran and failed", rel: deployed(1, ranTestHook(helmrelease.HookPhaseFailed)), tested: true, failed: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var history helmv2.Snapshots
			if tt.markTested != nil {
				Record(&history, tt.markTested)
				MarkTested(history, tt.markTested)
			}
			// The reconciler refreshes history from storage after every
			// action; what MarkTested recorded must survive that.
			Sync(&history, tt.rel, []*helmrelease.Release{tt.rel})
			c := Observe(tt.rel, []*helmrelease.Release{tt.rel}, history)
			if c.Tested != tt.tested || c.TestFailed != tt.failed {
				t.Fatalf("Observe() tested=%v failed=%v, want tested=%v failed=%v", c.Tested, c.TestFailed, tt.tested, tt.failed)
			}
		})
	}
}

// TestChartWithoutTestsIsTestedOnce walks the reconcile loop for a chart
// with no test hooks and test.enable: one test action, then in sync. Before
// the fix, Decide asked for the test again after it had succeeded.
func TestChartWithoutTestsIsTestedOnce(t *testing.T) {
	obj := hr(testEnabled(false))
	rel := deployed(1)
	desired := Desired{ChartName: "app", ChartVersion: "1.0.0", ConfigDigest: Observe(rel, nil, nil).ConfigDigest}
	var history helmv2.Snapshots
	Sync(&history, rel, []*helmrelease.Release{rel})
	if d := Decide(obj, desired, Observe(rel, nil, history)); d.Action != Test {
		t.Fatalf("before the test: Decide() = %s (%s), want %s", d.Action, d.Message, Test)
	}
	MarkTested(history, rel)
	Sync(&history, rel, []*helmrelease.Release{rel})
	if d := Decide(obj, desired, Observe(rel, nil, history)); d.Action != None {
		t.Fatalf("after the test: Decide() = %s (%s), want %s", d.Action, d.Message, None)
	}
	if hooks := history.Latest().GetTestHooks(); hooks == nil || len(hooks) != 0 {
		t.Fatalf("snapshot test hooks = %v, want an empty map (tests ran, the chart has none)", hooks)
	}
}
