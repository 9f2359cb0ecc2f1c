package chaos

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ferrycd/ferry/test/chaos/workload"
)

// TestKillDuringApply commits a change to every application ConfigMap and
// kills each controller with SIGKILL once the first Kustomization has
// applied it, then starts it again: the rest must be applied, nothing lost.
func TestKillDuringApply(t *testing.T) {
	for _, name := range controllers {
		t.Run(name, func(t *testing.T) {
			killDuring(t, "kill -9 "+name+" during apply", name, workload.Change{Apply: true},
				func(head string) progress { return applied(head, false) })
		})
	}
}

// TestKillDuringPrune takes the last ConfigMap of every pruning path out
// of Git (and, the next time, puts it back) and kills each controller once
// the first pruning Kustomization has applied that: the prune must finish,
// and no object Git still holds may go.
func TestKillDuringPrune(t *testing.T) {
	for _, name := range controllers {
		t.Run(name, func(t *testing.T) {
			killDuring(t, "kill -9 "+name+" during prune", name, workload.Change{Prune: true},
				func(head string) progress { return applied(head, true) })
		})
	}
}

// TestKillDuringHelmUpgrade changes every HelmRelease's values in Git and
// kills each controller once the first release has been upgraded: every
// release must end deployed at its new values, none left pending.
func TestKillDuringHelmUpgrade(t *testing.T) {
	if size.HelmReleases == 0 {
		t.Fatal("the workload has no HelmReleases")
	}
	for _, name := range controllers {
		t.Run(name, func(t *testing.T) {
			before, err := releaseVersions(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			killDuring(t, "kill -9 "+name+" during Helm upgrade", name, workload.Change{Upgrade: true},
				func(string) progress { return upgraded(before) })
		})
	}
}

// killDuring commits change, waits until the controllers have started on
// it, kills name and starts it again, then waits for convergence and checks.
func killDuring(t *testing.T, scenario, name string, change workload.Change, started func(head string) progress) {
	ctx := context.Background()
	head, err := wl.Commit(ctx, change)
	if err != nil {
		t.Fatal(err)
	}
	done, total := waitStarted(t, started(head), convergeTimeout)
	fleet.kill(name)
	start := time.Now()
	if err := fleet.start(name); err != nil {
		t.Fatal(err)
	}
	finish(t, scenario, start, fmt.Sprintf("killed with %d of %d done", done, total))
}
