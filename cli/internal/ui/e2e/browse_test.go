package e2e

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/cli/internal/ui"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/apis/meta"
)

// TestBrowseDiffReconcile walks what an on-call person does: the overview
// shows the failing Kustomization first, search narrows it, the object
// page shows status, inventory health and the dependsOn graph, the diff
// shows the drift made by hand with the Secret masked, and Reconcile is
// answered by the controller, which undoes the drift.
func TestBrowseDiffReconcile(t *testing.T) {
	f := newFleet(t)
	g := NewWithT(t)
	ctx := tab(t)

	g.Expect(do(ctx, chromedp.Navigate(adminUI+"/?ns="+f.ns))).To(Succeed())
	eventuallyText(t, ctx, "#live", Equal("live"))
	eventuallyText(t, ctx, "table.objects tbody tr:first-child", And(ContainSubstring("broken"), ContainSubstring("failing")))
	eventuallyText(t, ctx, ".count.s-failing", Equal("1 failing"))
	eventuallyText(t, ctx, ".count.s-ready", Equal("3 ready"))
	shot(t, ctx, "overview")

	// Search replaces the rows in place as one types.
	g.Expect(do(ctx, chromedp.SendKeys(chromedp.CSS("#search"), "late"))).To(Succeed())
	eventuallyText(t, ctx, ".total", HavePrefix("1 shown"))
	eventuallyText(t, ctx, "table.objects tbody", And(ContainSubstring("late"), Not(ContainSubstring("broken"))))
	g.Expect(do(ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("search").value = ""`), chromedp.SendKeys(chromedp.CSS("#search"), "apps"))).To(Succeed())
	eventuallyText(t, ctx, ".total", HavePrefix("1 shown"))

	// The object page.
	g.Expect(do(ctx, chromedp.Click(chromedp.CSS(`table.objects a[href$="/Kustomization/`+f.ns+`/apps"]`)))).To(Succeed())
	eventuallyText(t, ctx, "h1", Equal("Kustomization "+f.ns+"/apps"))
	eventuallyText(t, ctx, ".summary", And(ContainSubstring("Ready True"), ContainSubstring("main@sha1:")))
	eventuallyText(t, ctx, "ul.tree", And(ContainSubstring("ConfigMap "+f.ns+"/settings"), ContainSubstring("Current")))
	eventuallyText(t, ctx, ".graph", ContainSubstring(f.ns+"/late"))
	eventuallyText(t, ctx, ".summary", ContainSubstring("GitRepository "+f.ns+"/fleet"))

	// A change waiting to be applied: the Kustomization is suspended and
	// its spec gains a patch (the controller corrects drift made by hand at
	// once, so a live edit would not stay to be seen). The diff against Git
	// shows it, the Secret masked.
	k := &kustomizev1.Kustomization{}
	g.Expect(testCluster.Client.Get(context.Background(), clientKey(f.ns, "apps"), k)).To(Succeed())
	patch := client.MergeFrom(k.DeepCopy())
	k.Spec.Suspend = true
	k.Spec.Patches = []meta.Patch{{Patch: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: green\n"}}
	g.Expect(testCluster.Client.Patch(context.Background(), k, patch)).To(Succeed())
	eventuallyText(t, ctx, ".summary", ContainSubstring("suspended"))
	g.Expect(do(ctx, chromedp.Click(chromedp.CSS("#show-diff")))).To(Succeed())
	eventuallyText(t, ctx, "#diff", And(ContainSubstring("changed"), ContainSubstring("settings"), ContainSubstring("-  color: blue"), ContainSubstring("+  color: green")))
	g.Expect(do(ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("diff-panel").scrollIntoView()`))).To(Succeed())
	shot(t, ctx, "object-diff")
	g.Expect(html(t, ctx)).NotTo(ContainSubstring(f.secret), "the Secret's value must never reach the page")

	// Resume, then Reconcile: the page says when the controller handled
	// each request, and the change is applied.
	press(t, ctx, `button[formaction$="/resume"]`)
	eventuallyText(t, ctx, ".flash", ContainSubstring("resumed; reconcile requested: handled by the controller, ready True"))
	cm := &corev1.ConfigMap{}
	g.Eventually(func() string {
		_ = testCluster.Client.Get(context.Background(), clientKey(f.ns, "settings"), cm)
		return cm.Data["color"]
	}, timeout, 250*time.Millisecond).Should(Equal("green"))
	shot(t, ctx, "object")
	press(t, ctx, `button[formaction$="/reconcile"]`)
	eventuallyText(t, ctx, ".flash", ContainSubstring("reconcile requested: handled by the controller, ready True"))
}

// TestLiveUpdate proves a change reaches an open overview through the
// watch and server-sent events, without a reload.
func TestLiveUpdate(t *testing.T) {
	f := newFleet(t)
	g := NewWithT(t)
	ctx := tab(t)
	g.Expect(do(ctx, chromedp.Navigate(adminUI+"/?ns="+f.ns+"&state=suspended"))).To(Succeed())
	eventuallyText(t, ctx, "#live", Equal("live"))
	eventuallyText(t, ctx, "table.objects tbody", ContainSubstring("Nothing matches"))
	g.Expect(do(ctx, chromedp.Navigate(adminUI+"/c/local/Kustomization/"+f.ns+"/late"))).To(Succeed())
	press(t, ctx, `button[formaction$="/suspend"]`)
	eventuallyText(t, ctx, ".flash", ContainSubstring("suspended"))
	eventuallyText(t, ctx, ".summary", ContainSubstring("suspended"))

	other := tab(t)
	g.Expect(do(other, chromedp.Navigate(adminUI+"/?ns="+f.ns+"&state=suspended"))).To(Succeed())
	eventuallyText(t, other, "table.objects tbody", ContainSubstring("late"))
	eventuallyText(t, other, "#live", Equal("live"))
	// Resume in the first tab; the second one updates by itself.
	press(t, ctx, `button[formaction$="/resume"]`)
	eventuallyText(t, ctx, ".flash", ContainSubstring("resumed; reconcile requested: handled by the controller"))
	eventuallyText(t, other, "table.objects tbody", ContainSubstring("Nothing matches"))
}

// TestSeveralClusters shows two contexts side by side and switches to one.
func TestSeveralClusters(t *testing.T) {
	f := newFleet(t)
	g := NewWithT(t)
	srv, err := ui.New(context.Background(), ui.Options{Targets: []ui.Target{
		{Name: "east", Config: testCluster.Config}, {Name: "west", Config: testCluster.Config}}})
	g.Expect(err).NotTo(HaveOccurred())
	hs := serve(t, srv)
	ctx := tab(t)
	g.Expect(do(ctx, chromedp.Navigate(hs.URL+"/?ns="+url.QueryEscape(f.ns)))).To(Succeed())
	eventuallyText(t, ctx, ".clusters", And(ContainSubstring("All clusters"), ContainSubstring("east"), ContainSubstring("west")))
	eventuallyText(t, ctx, ".total", HavePrefix("8 shown"))
	eventuallyText(t, ctx, "table.objects tbody tr:nth-child(2)", ContainSubstring("broken"))
	g.Expect(do(ctx, chromedp.Click(chromedp.CSS(`.clusters a[href*="cluster=west"]`)))).To(Succeed())
	eventuallyText(t, ctx, ".total", HavePrefix("4 shown"))
	eventuallyText(t, ctx, "table.objects tbody", Not(ContainSubstring("east")))
}
