package failover

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/test/harness"
)

// Lease timings of the scenarios: shorter than Flux's defaults (35s, 30s,
// 5s) so a failover fits a test, long enough that a leader busy on two
// shared cores still renews in time.
const (
	leaseDuration = 15 * time.Second
	renewDeadline = 10 * time.Second
	retryPeriod   = 2 * time.Second
)

// electionFlags turn on leader election with the scenarios' timings.
var electionFlags = []string{
	"--enable-leader-election",
	"--leader-election-lease-duration=" + leaseDuration.String(),
	"--leader-election-renew-deadline=" + renewDeadline.String(),
	"--leader-election-retry-period=" + retryPeriod.String(),
}

// replica is one controller process and the Pod object that stands for
// its Pod. A restart is a container restart: the same Pod, the same
// storage directory, a new process.
type replica struct {
	controller string
	pod        string
	args       []string
	proc       *harness.Process
	// storageAddr is where a source-controller replica serves artifacts:
	// the Pod's port the Service's targetPort names.
	storageAddr string
	starts      int
}

// newReplica creates the Pod of a replica of controller, named pod, and
// starts its process with args. Stopping the process and deleting the Pod
// are the test's cleanup, so a later test sees no stale endpoint.
func newReplica(t *testing.T, controller, pod string, args ...string) *replica {
	t.Helper()
	r := &replica{controller: controller, pod: pod, args: args}
	dir := filepath.Join(workDir, pod)
	if controller == "source-controller" {
		r.storageAddr = harness.FreeAddr()
		r.args = append(r.args, "--storage-path="+filepath.Join(dir, "storage"), "--storage-addr="+r.storageAddr)
	}
	switch controller {
	case "kustomize-controller":
		r.args = append(r.args, "--artifact-cache-path="+filepath.Join(dir, "artifacts"))
	case "notification-controller":
		r.args = append(r.args, "--events-addr="+harness.FreeAddr(), "--receiverAddr="+harness.FreeAddr())
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: harness.Namespace, Labels: map[string]string{
			"app.kubernetes.io/name": controller, "app.kubernetes.io/part-of": "ferry",
		}},
		Spec: corev1.PodSpec{
			ServiceAccountName:           controller,
			AutomountServiceAccountToken: ptr.To(false),
			Containers: []corev1.Container{{Name: "manager", Image: "ghcr.io/ferrycd/" + controller + ":latest",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 9090}}}},
		},
	}
	NewWithT(t).Expect(testCluster.Client.Create(context.Background(), p)).To(Succeed())
	t.Cleanup(func() {
		if r.proc != nil {
			r.proc.Stop()
			if t.Failed() {
				t.Logf("==> %s (%s) <==\n%s", r.pod, r.proc.LogPath, r.proc.LogTail(6000))
			}
		}
		_ = testCluster.Client.Delete(context.Background(), p)
	})
	r.start(t)
	return r
}

// start runs a new process for the replica's Pod and reports the Pod
// Ready once the process answers /readyz, as the kubelet's readiness
// probe would. Each start logs to a file of its own, so a restarted
// replica's log holds only what the new process did.
func (r *replica) start(t *testing.T) {
	t.Helper()
	g := NewWithT(t)
	r.starts++
	dir := filepath.Join(workDir, r.pod, fmt.Sprintf("start-%d", r.starts))
	g.Expect(os.MkdirAll(dir, 0o755)).To(Succeed())
	// The downward API's variables: harness.Start passes the test's
	// environment on to the process, and replicas start one at a time.
	t.Setenv("POD_NAME", r.pod)
	t.Setenv("POD_NAMESPACE", harness.Namespace)
	p, err := harness.Start(context.Background(), testCluster, binDir, dir, r.controller, slices.Concat(r.args, electionFlags)...)
	g.Expect(err).NotTo(HaveOccurred())
	r.proc = p
	g.Expect(p.WaitReady(2 * time.Minute)).To(Succeed())
	r.setReady(t, true)
}

// kill ends the process with SIGKILL, as a crash or an OOM kill would, and
// reports the Pod not Ready, as the kubelet would on the container's exit.
func (r *replica) kill(t *testing.T) {
	t.Helper()
	r.proc.Kill()
	r.setReady(t, false)
}

// setReady writes the Pod's Ready condition.
func (r *replica) setReady(t *testing.T, ready bool) {
	t.Helper()
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	NewWithT(t).Eventually(func() error {
		p := &corev1.Pod{}
		if err := testCluster.Client.Get(context.Background(), client.ObjectKey{Namespace: harness.Namespace, Name: r.pod}, p); err != nil {
			return err
		}
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status, LastTransitionTime: metav1.Now()}}
		return testCluster.Client.Status().Update(context.Background(), p)
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
}

// podLabels are the labels of the replica's Pod now.
func (r *replica) podLabels(g Gomega) map[string]string {
	p := &corev1.Pod{}
	err := testCluster.Client.Get(context.Background(), client.ObjectKey{Namespace: harness.Namespace, Name: r.pod}, p)
	if apierrors.IsNotFound(err) {
		return nil
	}
	g.Expect(err).NotTo(HaveOccurred())
	return p.Labels
}

// isLeader says whether the replica's process holds its lease, by its
// leader_election_master_status gauge.
func (r *replica) isLeader() bool {
	m, err := scrape(r.proc.MetricsAddr)
	return err == nil && m.sum("leader_election_master_status", nil) == 1
}

// waitLeader waits until the replica leads and returns how long that took.
func (r *replica) waitLeader(t *testing.T, from time.Time, timeout time.Duration) time.Duration {
	t.Helper()
	NewWithT(t).Eventually(r.isLeader, timeout, 100*time.Millisecond).Should(BeTrue(),
		"%s should lead; log:\n%s", r.pod, r.proc.LogTail(3000))
	return time.Since(from)
}

// writeMethods are the HTTP methods of requests that change the cluster.
var writeMethods = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "DELETE": true}

// activity is what a replica's process did, from its metrics and its log.
type activity struct {
	reconciles float64
	writes     float64
	workers    bool
}

func (r *replica) activity(g Gomega) activity {
	m, err := scrape(r.proc.MetricsAddr)
	g.Expect(err).NotTo(HaveOccurred())
	log, err := os.ReadFile(r.proc.LogPath)
	g.Expect(err).NotTo(HaveOccurred())
	return activity{
		reconciles: m.sum("controller_runtime_reconcile_total", nil),
		writes:     m.sum("rest_client_requests_total", func(l map[string]string) bool { return writeMethods[l["method"]] }),
		// controller-runtime logs this when a controller starts reconciling,
		// which on a standby must never happen.
		workers: strings.Contains(string(log), "Starting workers"),
	}
}

// expectStandby checks that the replica did nothing but wait for the
// lease: it does not lead, reconciled nothing, wrote nothing to the API
// server and started no workers.
func (r *replica) expectStandby(g Gomega) {
	g.Expect(r.isLeader()).To(BeFalse(), "%s should be the standby", r.pod)
	a := r.activity(g)
	g.Expect(a.reconciles).To(BeZero(), "%s reconciled as a standby", r.pod)
	g.Expect(a.writes).To(BeZero(), "%s wrote to the API server as a standby", r.pod)
	g.Expect(a.workers).To(BeFalse(), "%s started workers as a standby", r.pod)
}

// expectActive checks the other side of expectStandby on the leader, so
// that the standby's zeroes mean something.
func (r *replica) expectActive(g Gomega) {
	a := r.activity(g)
	g.Expect(a.reconciles).To(BeNumerically(">", 0), "%s should have reconciled as the leader", r.pod)
	g.Expect(a.writes).To(BeNumerically(">", 0), "%s should have written as the leader", r.pod)
	g.Expect(a.workers).To(BeTrue(), "%s should have started its workers as the leader", r.pod)
}
