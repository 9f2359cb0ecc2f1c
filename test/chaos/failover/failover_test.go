package failover

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/manager"
	"github.com/ferrycd/ferry/test/chaos/workload"
)

// takeoverBound is the longest a standby may need to lead after the leader
// dies without releasing its lease. client-go's standby times the lease
// from when it last saw the record change, not from the leader's renewTime
// (clocks differ), and it looks every retryPeriod with up to 1.2 of
// jitter: it may see the last renewal one look after it happened, and take
// the expired lease one look after the expiry. The slack is for a busy
// machine.
const takeoverBound = leaseDuration + 2*(retryPeriod*22/10) + 3*time.Second

// deploy starts a workload of size in a namespace of its own.
func deploy(t *testing.T, ns string, size workload.Size) *workload.Workload {
	t.Helper()
	w, err := workload.Deploy(context.Background(), workload.Env{
		Config: testCluster.Config, Client: testCluster.Client, Git: gitSrv, Namespace: ns,
	}, size)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	t.Cleanup(w.Close)
	return w
}

// converge waits for the workload to equal Git and checks nothing was lost
// or wrongly pruned; it returns the report.
func converge(t *testing.T, w *workload.Workload, start time.Time, timeout time.Duration) workload.Report {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	_, err := w.WaitConverged(ctx, start, timeout)
	g.Expect(err).NotTo(HaveOccurred())
	r, err := w.Check(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(r.ObjectsLost).To(BeZero(), "%s: %v", r, r.Problems)
	g.Expect(r.WrongPrunes).To(BeZero(), "%s: %v", r, r.Problems)
	g.Expect(r.OK()).To(BeTrue(), "%s: %v", r, r.Problems)
	return r
}

// convergeTimeout bounds a convergence of the fleet on two shared cores.
func convergeTimeout(size workload.Size) time.Duration {
	return 3*time.Minute + time.Duration(size.Kustomizations+2*size.HelmReleases)*time.Second
}

// fleetArtifact is the fleet GitRepository's artifact URL once it is at
// revision.
func fleetArtifact(t *testing.T, w *workload.Workload, revision string) string {
	t.Helper()
	src := &sourcev1.GitRepository{}
	key := client.ObjectKey{Namespace: w.Namespace(), Name: workload.GitRepositoryName}
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(testCluster.Client.Get(context.Background(), key, src)).To(Succeed())
		g.Expect(src.Status.Artifact).NotTo(BeNil())
		g.Expect(src.Status.Artifact.Revision).To(Equal(revision))
	}, 2*time.Minute, 200*time.Millisecond).Should(Succeed())
	return src.Status.Artifact.URL
}

// chartArtifact is the artifact URL of the first release's HelmChart once
// it has one (equal to want, when want is set).
func chartArtifact(t *testing.T, ns, want string) string {
	t.Helper()
	chart := &sourcev1.HelmChart{}
	key := client.ObjectKey{Namespace: ns, Name: ns + "-hr-0"}
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(testCluster.Client.Get(context.Background(), key, chart)).To(Succeed())
		g.Expect(chart.Status.Artifact).NotTo(BeNil())
		if want != "" {
			g.Expect(chart.Status.Artifact.URL).To(Equal(want))
		}
	}, 2*time.Minute, 200*time.Millisecond).Should(Succeed())
	return chart.Status.Artifact.URL
}

// get is the status code of a GET of u.
func get(g Gomega, u string) int {
	resp, err := http.Get(u)
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestLeaderFailover runs two replicas of each controller with leader
// election under the fleet (and a Receiver for the notification-controller), checks the
// standbys do nothing, kills every leader with SIGKILL right after a commit
// that applies, prunes and upgrades, and checks the standbys take over
// within the lease time, the Service follows the source-controller's
// leader, the artifact URLs keep answering and the fleet converges with
// nothing lost. The killed replicas come back as standbys (a container
// restart in the same Pod) and stay idle.
func TestLeaderFailover(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	size := fleetSize()
	svc := newServiceProxy(t)

	// The first replica of each leads before the second exists, so the
	// second never even tries to create the lease.
	leaders, standbys := map[string]*replica{}, map[string]*replica{}
	for _, name := range controllers {
		var args []string
		if name == "source-controller" {
			args = []string{"--storage-adv-addr=" + svc.Addr()}
		}
		leaders[name] = newReplica(t, name, name+"-a", args...)
		leaders[name].waitLeader(t, time.Now(), leaseDuration+time.Minute)
		standbys[name] = newReplica(t, name, name+"-b", args...)
		if name == "source-controller" {
			svc.add(leaders[name])
			svc.add(standbys[name])
		}
	}
	g.Eventually(func(g Gomega) {
		g.Expect(svc.endpoints(ctx)).To(Equal([]string{"source-controller-a"}))
	}, time.Minute, 100*time.Millisecond).Should(Succeed(), "the Service should select the leader's Pod only")

	w := deploy(t, "failover", size)
	rcv := newReceiver(t, w.Namespace())
	report := converge(t, w, time.Now(), convergeTimeout(size))
	t.Logf("fleet of %d objects converged under the first leaders in %s", report.Objects, report.ConvergeTime.Round(time.Second))
	for _, name := range controllers {
		leaders[name].expectActive(g)
		standbys[name].expectStandby(g)
	}
	expectReceiverReady(t, rcv)
	before := fleetArtifact(t, w, w.Head())
	g.Expect(get(g, before)).To(Equal(http.StatusOK))
	g.Expect(svc.routedTo("source-controller-b")).To(BeZero(), "no download should have gone to the standby")
	// The chart does not change in this scenario, so its artifact keeps
	// its URL: after the failover the same URL must answer from the new
	// leader, which had to build the file again.
	chart := chartArtifact(t, w.Namespace(), "")

	// The fault: a commit that applies, prunes and upgrades, and every
	// leader killed as soon as the source-controller has its artifact, so
	// the consumers are mid-work and the artifacts exist only on the
	// killed replica's disk.
	head, err := w.Commit(ctx, workload.Change{Apply: true, Prune: true, Upgrade: true})
	g.Expect(err).NotTo(HaveOccurred())
	fleetArtifact(t, w, head)
	killed := time.Now()
	for _, name := range controllers {
		leaders[name].kill(t)
	}
	takeover := waitTakeover(t, standbys, killed)
	for _, name := range controllers {
		g.Expect(takeover[name]).To(BeNumerically("<=", takeoverBound),
			"%s took over after %s, longer than the lease allows", name, takeover[name])
	}
	for _, name := range controllers {
		leaders[name].start(t)
	}
	g.Eventually(func(g Gomega) {
		g.Expect(svc.endpoints(ctx)).To(Equal([]string{"source-controller-b"}))
		g.Expect(leaders["source-controller"].podLabels(g)).NotTo(HaveKey(manager.LeaderLabel),
			"the new leader should take the label off the former leader's Pod, whose container restarted")
	}, time.Minute, 100*time.Millisecond).Should(Succeed())
	routedToFormer := svc.routedTo("source-controller-a")
	expectReceiverReady(t, rcv)

	report = converge(t, w, killed, convergeTimeout(size))
	after := fleetArtifact(t, w, head)
	g.Expect(get(g, after)).To(Equal(http.StatusOK), "the artifact URL in status should answer after the failover")
	g.Expect(host(g, after)).To(Equal(host(g, before)), "artifact URLs name the Service, whichever replica leads")
	g.Expect(svc.routedTo("source-controller-b")).To(BeNumerically(">", 0))
	g.Expect(chartArtifact(t, w.Namespace(), chart)).To(Equal(chart), "an unchanged chart keeps its artifact URL")
	g.Expect(get(g, chart)).To(Equal(http.StatusOK), "the new leader should serve the chart it rebuilt under the same URL")

	// A commit after the takeover: the consumers fetch what only the new
	// leader has, through the Service.
	routed := svc.routedTo("source-controller-b")
	next := time.Now()
	head, err = w.Commit(ctx, workload.Change{Apply: true, Prune: true, Upgrade: true})
	g.Expect(err).NotTo(HaveOccurred())
	again := converge(t, w, next, convergeTimeout(size))
	g.Expect(get(g, fleetArtifact(t, w, head))).To(Equal(http.StatusOK))
	g.Expect(svc.routedTo("source-controller-b")).To(BeNumerically(">", routed))
	g.Expect(svc.routedTo("source-controller-a")).To(Equal(routedToFormer), "no download should go to the restarted former leader")
	for _, name := range controllers {
		standbys[name].expectActive(g)
		leaders[name].expectStandby(g)
	}
	takeovers := fmt.Sprintf("source %s, kustomize %s, helm %s, notification %s",
		takeover["source-controller"].Round(100*time.Millisecond), takeover["kustomize-controller"].Round(100*time.Millisecond),
		takeover["helm-controller"].Round(100*time.Millisecond), takeover["notification-controller"].Round(100*time.Millisecond))
	addFigure(t, figure{scenario: "failover: kill -9 of every leader", objects: report.Objects, takeover: takeovers,
		converge: report.ConvergeTime, lost: report.ObjectsLost, wrong: report.WrongPrunes,
		note: fmt.Sprintf("bound %s; artifact URL answers 200 after the failover", takeoverBound)})
	addFigure(t, figure{scenario: "failover: next commit under the new leaders", objects: again.Objects, takeover: "-",
		converge: again.ConvergeTime, lost: again.ObjectsLost, wrong: again.WrongPrunes,
		note: "artifacts fetched through the Service from the new leader only"})
}

// newReceiver gives the notification-controller something to reconcile: a
// generic Receiver for the fleet's GitRepository.
func newReceiver(t *testing.T, ns string) *notificationv1.Receiver {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	g.Expect(testCluster.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "webhook-token", Namespace: ns},
		StringData: map[string]string{"token": "failover-token"},
	})).To(Succeed())
	rcv := &notificationv1.Receiver{
		ObjectMeta: metav1.ObjectMeta{Name: "fleet", Namespace: ns},
		Spec: notificationv1.ReceiverSpec{
			Type:      notificationv1.GenericReceiver,
			SecretRef: fluxmeta.LocalObjectReference{Name: "webhook-token"},
			Resources: []notificationv1.CrossNamespaceObjectReference{{Kind: sourcev1.GitRepositoryKind, Name: workload.GitRepositoryName}},
		},
	}
	g.Expect(testCluster.Client.Create(ctx, rcv)).To(Succeed())
	return rcv
}

// expectReceiverReady waits for the Receiver to be Ready at its generation.
func expectReceiverReady(t *testing.T, rcv *notificationv1.Receiver) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(testCluster.Client.Get(context.Background(), client.ObjectKeyFromObject(rcv), rcv)).To(Succeed())
		g.Expect(conditions.IsReady(rcv)).To(BeTrue())
		g.Expect(rcv.Status.ObservedGeneration).To(Equal(rcv.Generation))
		g.Expect(rcv.Status.WebhookPath).To(HavePrefix("/hook/"))
	}, time.Minute, 200*time.Millisecond).Should(Succeed())
}

// waitTakeover watches every standby at once and returns, per controller,
// how long after from it was first seen leading.
func waitTakeover(t *testing.T, standbys map[string]*replica, from time.Time) map[string]time.Duration {
	t.Helper()
	took := map[string]time.Duration{}
	NewWithT(t).Eventually(func(g Gomega) {
		for name, r := range standbys {
			if _, done := took[name]; !done && r.isLeader() {
				took[name] = time.Since(from)
			}
		}
		g.Expect(took).To(HaveLen(len(standbys)), "standbys that lead: %v", took)
	}, takeoverBound+30*time.Second, 100*time.Millisecond).Should(Succeed())
	return took
}

func host(g Gomega, u string) string {
	parsed, err := url.Parse(u)
	g.Expect(err).NotTo(HaveOccurred())
	return strings.ToLower(parsed.Host)
}
