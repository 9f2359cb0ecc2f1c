package e2e

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ferrycd/ferry/cli/internal/rollouts/rollouttest"
	"github.com/ferrycd/ferry/cli/internal/ui"
	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/test/harness"
	"github.com/ferrycd/ferry/test/suite"
)

// TestRolloutPage: the overview lists a Rollout with its phase and step;
// its page shows the steps with the current one marked, the set and actual
// weights, the ReplicaSets with their roles and pods, and the analysis
// with its metric's result; Promote removes the pause condition and Abort
// sets status.abort, each answered on the page, which then offers Retry.
func TestRolloutPage(t *testing.T) {
	g := NewWithT(t)
	ns := suite.NewNamespace(t, testCluster.Client, "ui-ro-")
	rollouttest.Canary(t, testCluster.Client, ns, "web")
	read := func() *v1alpha1.Rollout {
		ro := &v1alpha1.Rollout{}
		g.Expect(testCluster.Client.Get(context.Background(), clientKey(ns, "web"), ro)).To(Succeed())
		return ro
	}
	ctx := tab(t)

	g.Expect(do(ctx, chromedp.Navigate(adminUI+"/?ns="+ns))).To(Succeed())
	eventuallyText(t, ctx, "table.objects tbody", And(ContainSubstring("Rollout"), ContainSubstring("web"),
		ContainSubstring("Paused, canary, step 1/6, weight 20, 5/5 ready")))
	g.Expect(do(ctx, chromedp.Click(chromedp.CSS(`table.objects a[href$="/Rollout/`+ns+`/web"]`)))).To(Succeed())
	eventuallyText(t, ctx, "h1", Equal("Rollout "+ns+"/web"))
	eventuallyText(t, ctx, ".rollout .ro-status", Equal("Paused"))
	eventuallyText(t, ctx, ".rollout .ro-step", Equal("1/6"))
	eventuallyText(t, ctx, ".rollout .ro-weights", Equal("20% set, 20% actual"))
	eventuallyText(t, ctx, "ol.steps li.step-done", ContainSubstring("setWeight: 20"))
	eventuallyText(t, ctx, "ol.steps li.step-current", And(ContainSubstring("pause: {} (until promoted)"), ContainSubstring("current")))
	eventuallyText(t, ctx, "ol.steps", And(ContainSubstring("analysis: error-rate"), ContainSubstring("setWeight: 100")))
	eventuallyText(t, ctx, "table.replicasets tbody tr:first-child",
		And(ContainSubstring("web-"+rollouttest.CanaryHash), ContainSubstring("canary"), ContainSubstring("1 / 1"), ContainSubstring(rollouttest.CanaryImage)))
	eventuallyText(t, ctx, "table.replicasets tbody tr:nth-child(2)",
		And(ContainSubstring("web-"+rollouttest.StableHash), ContainSubstring("stable"), ContainSubstring("4 / 4")))
	eventuallyText(t, ctx, "table.analysis tbody", And(ContainSubstring("web-"+rollouttest.CanaryHash+"-background"),
		ContainSubstring("Successful"), ContainSubstring("background"), ContainSubstring(rollouttest.Metric),
		ContainSubstring("3 measured, 3 successful, 0 failed"), ContainSubstring(rollouttest.MetricValue)))
	g.Expect(do(ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector(".rollout").scrollIntoView()`))).To(Succeed())
	shot(t, ctx, "rollout")

	press(t, ctx, `button[formaction$="/promote"]`)
	eventuallyText(t, ctx, ".flash", ContainSubstring("rollout 'web' promoted"))
	g.Expect(read().Status.PauseConditions).To(BeNil())

	press(t, ctx, `button[formaction$="/abort"]`)
	eventuallyText(t, ctx, ".flash", ContainSubstring("rollout 'web' aborted"))
	g.Expect(read().Status.Abort).To(BeTrue())
	eventuallyText(t, ctx, ".rollout .ro-status", Equal("Paused (aborted)"))
	eventuallyText(t, ctx, ".rollout .ro-weights", HavePrefix("0% set"))
	press(t, ctx, `button[formaction$="/retry"]`)
	eventuallyText(t, ctx, ".flash", ContainSubstring("rollout 'web' retried"))
	g.Expect(read().Status.Abort).To(BeFalse())
}

// TestRolloutPageForbidden: a user who may read Rollouts but not patch
// their status sees the page and gets Promote refused with the verb and
// resource, and the rollout is left as it was.
func TestRolloutPageForbidden(t *testing.T) {
	g := NewWithT(t)
	bg := context.Background()
	c := testCluster.Client
	ns := suite.NewNamespace(t, c, "ui-ro-")
	before := rollouttest.Canary(t, c, ns, "web")
	name := "ro-viewer-" + ns
	g.Expect(c.Create(bg, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: harness.Namespace}})).To(Succeed())
	g.Expect(c.Create(bg, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "ro-viewer", Namespace: ns},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"rollouts", "analysisruns"},
			Verbs: []string{"get", "list", "watch"}}, {APIGroups: []string{"apps"}, Resources: []string{"replicasets"}, Verbs: []string{"list"}}},
	})).To(Succeed())
	g.Expect(c.Create(bg, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "ro-viewer", Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "ro-viewer"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: harness.Namespace}},
	})).To(Succeed())
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	g.Expect(harness.ServiceAccountKubeconfig(bg, testCluster, name, kubeconfig)).To(Succeed())
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	g.Expect(err).NotTo(HaveOccurred())
	srv, err := ui.New(bg, ui.Options{Targets: []ui.Target{{Name: "team", Config: cfg, Namespaces: []string{ns}}}})
	g.Expect(err).NotTo(HaveOccurred())
	hs := serve(t, srv)

	ctx := tab(t)
	g.Expect(do(ctx, chromedp.Navigate(hs.URL+"/c/team/Rollout/"+ns+"/web"))).To(Succeed())
	eventuallyText(t, ctx, ".rollout .ro-step", Equal("1/6"))
	eventuallyText(t, ctx, "table.replicasets", ContainSubstring("web-"+rollouttest.CanaryHash))
	press(t, ctx, `button[formaction$="/promote"]`)
	eventuallyText(t, ctx, ".error", And(ContainSubstring("forbidden by RBAC"), ContainSubstring("patch"),
		ContainSubstring("rollouts/status"), ContainSubstring("namespace "+ns)))
	ro := &v1alpha1.Rollout{}
	g.Expect(c.Get(bg, clientKey(ns, "web"), ro)).To(Succeed())
	g.Expect(ro.Status).To(Equal(before.Status))
}
