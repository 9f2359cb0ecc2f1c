package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/cli/internal/rollouts"
	"github.com/ferrycd/ferry/cli/internal/rollouts/rollouttest"
	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/test/harness"
	"github.com/ferrycd/ferry/test/suite"
)

const timeout = 30 * time.Second

func read(t testing.TB, ns, name string) *v1alpha1.Rollout {
	t.Helper()
	ro := &v1alpha1.Rollout{}
	if err := testCluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, ro); err != nil {
		t.Fatal(err)
	}
	return ro
}

// TestRolloutGet: get shows what the plugin shows (status, step N/M, set
// and actual weight, images by role, the steps with the current one
// marked, the ReplicaSets by revision with their pods and roles, the
// AnalysisRun with its metric's result), as text and as JSON; `ferry get`
// lists the Rollout with its phase, step, weight and ready pods.
func TestRolloutGet(t *testing.T) {
	g := NewWithT(t)
	ns := suite.NewNamespace(t, testCluster.Client, "ro-")
	rollouttest.Canary(t, testCluster.Client, ns, "web")
	canaryRS, stableRS := "web-"+rollouttest.CanaryHash, "web-"+rollouttest.StableHash
	run := "web-" + rollouttest.CanaryHash + "-background"

	r := admin(t, "rollout", "get", "web", "-n", ns)
	g.Expect(r.code).To(Equal(0), r.all())
	for _, line := range []string{
		`(?m)^Name:\s+web$`, `(?m)^Namespace:\s+` + ns + `$`, `(?m)^Status:\s+॥ Paused$`, `(?m)^Message:\s+CanaryPauseStep$`,
		`(?m)^Paused by:\s+CanaryPauseStep$`, `(?m)^Strategy:\s+Canary$`, `(?m)^  Step:\s+1/6$`,
		`(?m)^  SetWeight:\s+20$`, `(?m)^  ActualWeight:\s+20$`,
		`(?m)^Images:\s+nginx:1.28 \(canary\)$`, `(?m)^\s+nginx:1.27 \(stable\)$`,
		`(?m)^  Desired:\s+5$`, `(?m)^  Current:\s+5$`, `(?m)^  Updated:\s+1$`, `(?m)^  Ready:\s+5$`, `(?m)^  Available:\s+5$`,
		`(?m)^  ✔ 0  setWeight: 20$`, `(?m)^  ► 1  pause: \{\} \(until promoted\)$`, `(?m)^    2  analysis: error-rate$`,
		`(?m)^    4  pause: 1m$`,
		`(?m)^  2\s+` + canaryRS + `\s+canary\s+Healthy\s+1\s+1\s+1\s+1\s+\S+\s+nginx:1.28$`,
		`(?m)^  1\s+` + stableRS + `\s+stable\s+Healthy\s+4\s+4\s+4\s+4\s+\S+\s+nginx:1.27$`,
		`(?m)^  ✔ ` + run + `  Successful  \(background\)  current  `,
		`(?m)^      metric error-rate: Successful, 3 measured, 3 successful, 0 failed, last value 0.012$`,
	} {
		g.Expect(r.out).To(MatchRegexp(line))
	}
	g.Expect(r.out).To(MatchRegexp(`(?s)ReplicaSets:\n.*`+canaryRS+`.*\n.*`+stableRS), "newest revision first")

	r = admin(t, "rollout", "get", "rollout", "web", "-n", ns, "-o", "json")
	g.Expect(r.code).To(Equal(0), r.all())
	var info rollouts.Info
	g.Expect(json.Unmarshal([]byte(r.out), &info)).To(Succeed())
	g.Expect(info.Step).To(Equal("1/6"))
	g.Expect(info.Steps[1]).To(Equal(rollouts.StepInfo{Index: 1, Text: "pause: {} (until promoted)", State: rollouts.StepCurrent}))
	g.Expect(info.ReplicaSets[1].Roles).To(Equal([]string{rollouts.RoleStable}))
	g.Expect(info.AnalysisRuns[0].Metrics[0].LastValue).To(Equal(rollouttest.MetricValue))

	r = admin(t, "get", "-n", ns)
	g.Expect(r.code).To(Equal(0), r.all())
	g.Expect(r.out).To(MatchRegexp(`Rollout/web\s+Unknown\s+` + rollouttest.CanaryHash +
		`\s+false\s+\S+\s+Paused, canary, step 1/6, weight 20, 5/5 ready: rollout is paused: CanaryPauseStep`))
	r = admin(t, "get", "ar", "-n", ns)
	g.Expect(r.code).To(Equal(0), r.all())
	g.Expect(r.out).To(ContainSubstring("AnalysisRun/" + run))

	r = admin(t, "rollout", "get", "nope", "-n", ns)
	g.Expect(r.code).To(Equal(2), r.all())
	g.Expect(r.err).To(ContainSubstring("rollout " + ns + "/nope not found"))
}

// TestRolloutWrites: each verb makes exactly the plugin's write. Promote at
// a pause step removes the pause conditions and nothing else; promote of a
// rollout paused by hand clears spec.paused and moves to the next step;
// --full sets promoteFull (and writes nothing once the canary is stable);
// abort and retry set and clear status.abort; pause and resume
// spec.paused.
func TestRolloutWrites(t *testing.T) {
	g := NewWithT(t)
	ns := suite.NewNamespace(t, testCluster.Client, "ro-")
	before := rollouttest.Canary(t, testCluster.Client, ns, "web")

	r := admin(t, "rollout", "promote", "web", "-n", ns)
	g.Expect(r.code).To(Equal(0), r.all())
	g.Expect(r.out).To(Equal("✔ rollout 'web' promoted\n"))
	ro := read(t, ns, "web")
	g.Expect(ro.Status.PauseConditions).To(BeNil())
	want := before.Status.DeepCopy()
	want.PauseConditions = nil
	g.Expect(ro.Status).To(Equal(*want), "promote removes the pause conditions and nothing else")
	g.Expect(ro.Spec).To(Equal(before.Spec))

	r = admin(t, "rollout", "pause", "web", "-n", ns)
	g.Expect(r.code).To(Equal(0), r.all())
	g.Expect(r.out).To(Equal("✔ rollout 'web' paused\n"))
	g.Expect(read(t, ns, "web").Spec.Paused).To(BeTrue())
	r = admin(t, "get", "ro", "web", "-n", ns)
	g.Expect(r.out).To(MatchRegexp(`Rollout/web\s+Unknown\s+\S+\s+true\s`), "spec.paused shows as suspended")
	r = admin(t, "rollout", "get", "web", "-n", ns)
	g.Expect(r.out).To(MatchRegexp(`(?m)^Status:\s+॥ Paused \(paused\)$`))

	// Paused by hand with no pause condition: promote resumes and steps on.
	r = admin(t, "rollout", "promote", "web", "-n", ns)
	g.Expect(r.code).To(Equal(0), r.all())
	ro = read(t, ns, "web")
	g.Expect(ro.Spec.Paused).To(BeFalse())
	g.Expect(ro.Status.CurrentStepIndex).To(Equal(ptr.To[int32](2)))

	r = admin(t, "rollout", "promote", "web", "--full", "-n", ns)
	g.Expect(r.code).To(Equal(0), r.all())
	g.Expect(r.out).To(Equal("✔ rollout 'web' fully promoted\n"))
	g.Expect(read(t, ns, "web").Status.PromoteFull).To(BeTrue())

	r = admin(t, "rollout", "abort", "web", "-n", ns)
	g.Expect(r.code).To(Equal(0), r.all())
	g.Expect(r.out).To(Equal("✔ rollout 'web' aborted\n"))
	g.Expect(read(t, ns, "web").Status.Abort).To(BeTrue())
	r = admin(t, "rollout", "get", "web", "-n", ns)
	g.Expect(r.out).To(MatchRegexp(`(?m)^  SetWeight:\s+0$`), "an aborted canary asks for no weight")

	r = admin(t, "rollout", "retry", "rollout", "web", "-n", ns)
	g.Expect(r.code).To(Equal(0), r.all())
	g.Expect(r.out).To(Equal("✔ rollout 'web' retried\n"))
	g.Expect(read(t, ns, "web").Status.Abort).To(BeFalse())

	g.Expect(admin(t, "rollout", "pause", "web", "-n", ns).code).To(Equal(0))
	r = admin(t, "rollout", "resume", "web", "-n", ns)
	g.Expect(r.code).To(Equal(0), r.all())
	g.Expect(r.out).To(Equal("✔ rollout 'web' resumed\n"))
	g.Expect(read(t, ns, "web").Spec.Paused).To(BeFalse())

	// Once the canary is the stable one there is nothing to promote fully.
	ro = read(t, ns, "web")
	ro.Status.PromoteFull = false
	ro.Status.StableRS = ro.Status.CurrentPodHash
	g.Expect(testCluster.Client.Status().Update(context.Background(), ro)).To(Succeed())
	g.Expect(admin(t, "rollout", "promote", "web", "--full", "-n", ns).code).To(Equal(0))
	g.Expect(read(t, ns, "web").Status.PromoteFull).To(BeFalse())

	// `ferry suspend` of a Rollout is its pause: Rollouts have no
	// spec.suspend.
	r = admin(t, "suspend", "ro", "web", "-n", ns)
	g.Expect(r.code).To(Equal(0), r.all())
	g.Expect(read(t, ns, "web").Spec.Paused).To(BeTrue())

	r = admin(t, "rollout", "abort", "nope", "-n", ns)
	g.Expect(r.code).To(Equal(2), r.all())
	g.Expect(r.err).To(ContainSubstring("rollout " + ns + "/nope not found"))
}

// user makes ServiceAccount name a Role in ns with rules and returns a
// kubeconfig flag that authenticates as it.
func user(t *testing.T, ns, name string, rules ...rbacv1.PolicyRule) string {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	c := testCluster.Client
	sa := name + "-" + ns
	g.Expect(c.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa, Namespace: harness.Namespace}})).To(Succeed())
	g.Expect(c.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Rules: rules})).To(Succeed())
	g.Expect(c.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: harness.Namespace}},
	})).To(Succeed())
	path := filepath.Join(t.TempDir(), "kubeconfig")
	g.Expect(harness.ServiceAccountKubeconfig(ctx, testCluster, sa, path)).To(Succeed())
	return path
}

// TestRolloutWritesUnderTheUsersRBAC: a user who may read Rollouts and
// patch nothing sees the rollout (with a note for the ReplicaSets it may
// not list) and gets each write refused with the API server's own message;
// a user who may patch rollouts but not rollouts/status may pause and
// resume, and may not promote, abort or retry. A refused write changes
// nothing.
func TestRolloutWritesUnderTheUsersRBAC(t *testing.T) {
	g := NewWithT(t)
	ns := suite.NewNamespace(t, testCluster.Client, "ro-")
	before := rollouttest.Canary(t, testCluster.Client, ns, "web")
	current := func() *v1alpha1.Rollout { return read(t, ns, "web") }
	viewer := user(t, ns, "viewer",
		rbacv1.PolicyRule{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"rollouts", "analysisruns"}, Verbs: []string{"get", "list", "watch"}})

	r := ferry(t, viewer, "rollout", "get", "web", "-n", ns)
	g.Expect(r.code).To(Equal(0), r.all())
	g.Expect(r.out).To(MatchRegexp(`(?m)^  Step:\s+1/6$`))
	g.Expect(r.out).To(ContainSubstring("note: forbidden by RBAC: you may not list replicasets.apps in namespace " + ns))
	g.Expect(r.out).To(ContainSubstring("metric error-rate: Successful"))

	denied := func(kubeconfig, verb, resource string) {
		t.Helper()
		r := ferry(t, kubeconfig, "rollout", verb, "web", "-n", ns)
		g.Expect(r.code).To(Equal(2), r.all())
		g.Expect(r.err).To(ContainSubstring(fmt.Sprintf("forbidden by RBAC: cannot patch %s in namespace %s", resource, ns)))
		g.Expect(r.err).To(ContainSubstring(fmt.Sprintf(`cannot patch resource %q in API group "argoproj.io" in the namespace %q`, resource, ns)),
			"the API server's own message")
	}
	denied(viewer, "promote", "rollouts/status")
	denied(viewer, "abort", "rollouts/status")
	denied(viewer, "retry", "rollouts/status")
	denied(viewer, "pause", "rollouts")
	denied(viewer, "resume", "rollouts")
	g.Expect(current().Status).To(Equal(before.Status))
	g.Expect(current().Spec).To(Equal(before.Spec))

	pauser := user(t, ns, "pauser",
		rbacv1.PolicyRule{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"rollouts"}, Verbs: []string{"get", "patch"}})
	r = ferry(t, pauser, "rollout", "pause", "web", "-n", ns)
	g.Expect(r.code).To(Equal(0), r.all())
	g.Expect(current().Spec.Paused).To(BeTrue())
	denied(pauser, "abort", "rollouts/status")
	denied(pauser, "promote", "rollouts/status")
	g.Expect(current().Status).To(Equal(before.Status), "the status write comes first and was refused")
	g.Expect(current().Spec.Paused).To(BeTrue(), "a refused promote leaves spec.paused as it was")
}

// TestRolloutWatch: a watch shows the rollout once, then again only when
// it changed (a promote removes the pause condition); get -w with a
// timeout prints an unchanged rollout once and ends with 0.
func TestRolloutWatch(t *testing.T) {
	g := NewWithT(t)
	ns := suite.NewNamespace(t, testCluster.Client, "ro-")
	rollouttest.Canary(t, testCluster.Client, ns, "web")

	r := admin(t, "rollout", "get", "web", "-w", "--timeout", "1500ms", "-n", ns)
	g.Expect(r.code).To(Equal(0), r.all())
	g.Expect(strings.Count(r.out, "Name:")).To(Equal(1), "an unchanged rollout is shown once")
	g.Expect(r.out).NotTo(ContainSubstring("---"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := make(chan rollouts.Info, 16)
	done := make(chan error, 1)
	go func() {
		done <- rollouts.Watch(ctx, testCluster.Client, ns, "web", 100*time.Millisecond, func(in rollouts.Info) error {
			seen <- in
			return nil
		})
	}()
	var first rollouts.Info
	g.Eventually(seen, timeout).Should(Receive(&first))
	g.Expect(first.PauseReasons).To(Equal([]string{"CanaryPauseStep"}))
	g.Expect(admin(t, "rollout", "promote", "web", "-n", ns).code).To(Equal(0))
	var next rollouts.Info
	g.Eventually(seen, timeout).Should(Receive(&next))
	g.Expect(next.PauseReasons).To(BeEmpty())
	g.Expect(next.Step).To(Equal("1/6"))
	cancel()
	g.Eventually(done, timeout).Should(Receive(BeNil()))
}
