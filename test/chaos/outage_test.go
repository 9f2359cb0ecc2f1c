package chaos

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/chaos/workload"
	"github.com/ferrycd/ferry/test/gitserver"
)

// TestAPIServerOutage stops the kube-apiserver for the outage (30 s) while
// the controllers apply a change and upgrade releases, then starts it
// again on the same etcd. The controllers must ride it out: any that exits
// is started again, as the kubelet would, and said so in the figures.
func TestAPIServerOutage(t *testing.T) {
	ctx := context.Background()
	head, err := wl.Commit(ctx, workload.Change{Apply: true, Upgrade: true})
	if err != nil {
		t.Fatal(err)
	}
	done, total := waitStarted(t, applied(head, false), convergeTimeout)
	if err := testCluster.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	// The outage's length is the fault itself, not a wait for some state.
	time.Sleep(outage)
	start := time.Now()
	if err := testCluster.StartAPIServer(); err != nil {
		t.Fatal(err)
	}
	note := fmt.Sprintf("down %s with %d of %d Kustomizations applied", outage, done, total)
	restarted, err := fleet.restartExited()
	if err != nil {
		t.Fatal(err)
	}
	if len(restarted) > 0 {
		note += "; exited during the outage and restarted: " + strings.Join(restarted, ", ")
	}
	finish(t, "API server stopped and restarted on the same etcd", start, note)
}

// TestGitServerDownThenFlapping commits a change while the Git server is
// down, then makes it fail every other request, then brings it back. While
// the source cannot fetch, its Ready condition must say so and the
// consumers must keep what they applied (a failed fetch is no reason to
// prune); once the server is back, the change lands.
func TestGitServerDownThenFlapping(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	src := &sourcev1.GitRepository{}
	key := client.ObjectKey{Namespace: wl.Namespace(), Name: workload.GitRepositoryName}
	failedBefore := gitSrv.Failed()
	gitSrv.SetFault(gitserver.Down)
	t.Cleanup(func() { gitSrv.SetFault(gitserver.Healthy) })
	head, err := wl.Commit(ctx, workload.Change{Apply: true, Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	g.Eventually(func(g Gomega) {
		g.Expect(testCluster.Client.Get(ctx, key, src)).To(Succeed())
		g.Expect(conditions.IsFalse(src, "Ready")).To(BeTrue())
		g.Expect(conditions.GetMessage(src, "Ready")).NotTo(BeEmpty())
	}, convergeTimeout, 100*time.Millisecond).Should(Succeed(), "the GitRepository should say it cannot fetch")
	downMsg := conditions.GetMessage(src, "Ready")

	gitSrv.SetFault(gitserver.Flapping)
	flapFrom := gitSrv.Failed()
	// A reconcile request makes the source try again now instead of after
	// its backoff; a few attempts meet the flapping server.
	for range 3 {
		if _, err := workload.RequestReconcile(ctx, testCluster.Client, src); err != nil {
			t.Fatal(err)
		}
		g.Eventually(func() int64 { return gitSrv.Failed() }, convergeTimeout, 100*time.Millisecond).
			Should(BeNumerically(">", flapFrom), "the source should try the flapping server")
		flapFrom = gitSrv.Failed()
	}
	r, err := wl.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Only deletions count here: the change itself cannot have landed yet.
	g.Expect(r.WrongPrunes).To(BeZero(), "nothing Git holds may be deleted while the server fails: %v", r.Problems)

	gitSrv.SetFault(gitserver.Healthy)
	start := time.Now()
	finish(t, "Git server down, then flapping, then back", start,
		fmt.Sprintf("%d requests failed; Ready=False while down: %q; converged to %s", gitSrv.Failed()-failedBefore, downMsg, head))
}
