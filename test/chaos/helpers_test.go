package chaos

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
)

// finish waits for the workload to converge, checks it and records the
// scenario's figures; the test fails on any problem the checks find.
func finish(t *testing.T, scenario string, start time.Time, note string) {
	t.Helper()
	ctx := context.Background()
	if _, err := wl.WaitConverged(ctx, start, convergeTimeout); err != nil {
		t.Error(err)
		note = strings.TrimSpace(note + " NOT CONVERGED")
	}
	r, err := wl.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	figures.add(scenario, note, r)
	t.Logf("FIGURE %s: %s %s", scenario, r, note)
	if !r.OK() {
		t.Fatalf("%s: %s\n%s", scenario, r, strings.Join(r.Problems, "\n"))
	}
}

// progress counts how far the controllers are with the last change: how
// many of total things are done.
type progress func(ctx context.Context) (done, total int, err error)

// applied counts the Kustomizations (all, or only the pruning ones) that
// applied revision.
func applied(revision string, pruningOnly bool) progress {
	return func(ctx context.Context) (int, int, error) {
		var list kustomizev1.KustomizationList
		if err := testCluster.Client.List(ctx, &list, client.InNamespace(wl.Namespace())); err != nil {
			return 0, 0, err
		}
		done, total := 0, 0
		for _, k := range list.Items {
			if pruningOnly && !k.Spec.Prune {
				continue
			}
			total++
			if k.Status.LastAppliedRevision == revision {
				done++
			}
		}
		return done, total, nil
	}
}

// upgraded counts the HelmReleases whose release version went past the one
// in before.
func upgraded(before map[string]int) progress {
	return func(ctx context.Context) (int, int, error) {
		now, err := releaseVersions(ctx)
		if err != nil {
			return 0, 0, err
		}
		done := 0
		for name, v := range now {
			if v > before[name] {
				done++
			}
		}
		return done, len(now), nil
	}
}

// releaseVersions is each HelmRelease's latest release version.
func releaseVersions(ctx context.Context) (map[string]int, error) {
	var list helmv2.HelmReleaseList
	if err := testCluster.Client.List(ctx, &list, client.InNamespace(wl.Namespace())); err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, hr := range list.Items {
		if len(hr.Status.History) > 0 {
			out[hr.Name] = hr.Status.History[0].Version
		}
	}
	return out, nil
}

// waitStarted waits until p reports at least one thing done, polling
// often so that a fault lands while the rest is still in flight, and
// returns the count at that moment.
func waitStarted(t *testing.T, p progress, timeout time.Duration) (done, total int) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		var err error
		done, total, err = p(context.Background())
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(done).To(BeNumerically(">", 0))
	}, timeout, 20*time.Millisecond).Should(Succeed(), "the change should start to be reconciled")
	return done, total
}
