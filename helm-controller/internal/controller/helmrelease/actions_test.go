package helmrelease

import (
	"context"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	helmrelease "helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	"github.com/ferrycd/ferry/pkg/apis/meta"
	"github.com/ferrycd/ferry/test/suite"

	"github.com/ferrycd/ferry/helm-controller/internal/action"
)

// playKubelet ends every test hook Pod in ns in phase, standing in for a
// kubelet: the fast-mode cluster runs no Pods, and kwok completes only
// Pods owned by Jobs.
func playKubelet(t *testing.T, ns string, phase corev1.PodPhase) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		for ctx.Err() == nil {
			var pods corev1.PodList
			if err := env.Client.List(ctx, &pods, client.InNamespace(ns)); err == nil {
				for i := range pods.Items {
					p := &pods.Items[i]
					if p.Annotations["helm.sh/hook"] != "test" || p.Status.Phase == phase {
						continue
					}
					p.Status.Phase = phase
					_ = env.Client.Status().Update(ctx, p)
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
}

// TestTestHooks runs a chart's test hook after install: success marks
// TestSuccess and records the hook in history; a failure stalls a release
// without retries, unless test failures are ignored.
func TestTestHooks(t *testing.T) {
	t.Run("success", func(t *testing.T) {
		g := NewWithT(t)
		ns := newNamespace(t)
		playKubelet(t, ns, corev1.PodSucceeded)
		publishHelmChart(t, ns, "chart", "1.0.0", testedChart)
		hr := newRelease(t, ns, "app", func(hr *helmv2.HelmRelease) { hr.Spec.Test = &helmv2.Test{Enable: true} })
		waitReady(t, hr, "1.0.0", 1)
		g.Expect(conditions.IsTrue(hr, helmv2.TestSuccessCondition)).To(BeTrue())
		hooks := hr.Status.History.Latest().GetTestHooks()
		g.Expect(hooks).To(HaveKey("app-test"))
		g.Expect(hooks["app-test"].Phase).To(Equal("Succeeded"))
	})
	t.Run("failure stalls", func(t *testing.T) {
		g := NewWithT(t)
		ns := newNamespace(t)
		playKubelet(t, ns, corev1.PodFailed)
		publishHelmChart(t, ns, "chart", "1.0.0", testedChart)
		hr := newRelease(t, ns, "app", func(hr *helmv2.HelmRelease) { hr.Spec.Test = &helmv2.Test{Enable: true} })
		waitStalled(t, hr, helmv2.RetriesExceededReason, func(g Gomega, hr *helmv2.HelmRelease) {
			g.Expect(hr.Status.History.Latest().HasTestInPhase("Failed")).To(BeTrue())
		})
		g.Expect(conditions.GetReason(hr, helmv2.TestSuccessCondition)).To(Equal(helmv2.TestFailedReason))
	})
	t.Run("chart without test hooks counts as tested", func(t *testing.T) {
		g := NewWithT(t)
		ns := newNamespace(t)
		publishHelmChart(t, ns, "chart", "1.0.0", goodChart)
		hr := newRelease(t, ns, "app", func(hr *helmv2.HelmRelease) { hr.Spec.Test = &helmv2.Test{Enable: true} })
		waitReady(t, hr, "1.0.0", 1)
		waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {
			g.Expect(hr.Status.History.Latest().HasBeenTested()).To(BeTrue(), "history: %v", hr.Status.History)
		})
		g.Expect(hr.Status.History.Latest().GetTestHooks()).To(BeEmpty())
		g.Expect(conditions.IsTrue(hr, helmv2.TestSuccessCondition)).To(BeTrue())
		g.Expect(conditions.GetMessage(hr, helmv2.TestSuccessCondition)).To(ContainSubstring("no test hooks"))

		// A later reconcile finds the release tested and in sync: it
		// neither tests again nor leaves Ready.
		token := suite.RequestReconcile(t, env.Client, hr, timeout)
		waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {
			g.Expect(hr.Status.LastHandledReconcileAt).To(Equal(token))
			g.Expect(conditions.IsReady(hr)).To(BeTrue(), "ready: %v", hr.Status.Conditions)
		})
		g.Expect(helmList(t, hr)[0].Version).To(Equal(1))
	})
	t.Run("ignored failure is ready", func(t *testing.T) {
		g := NewWithT(t)
		ns := newNamespace(t)
		playKubelet(t, ns, corev1.PodFailed)
		publishHelmChart(t, ns, "chart", "1.0.0", testedChart)
		hr := newRelease(t, ns, "app", func(hr *helmv2.HelmRelease) {
			hr.Spec.Test = &helmv2.Test{Enable: true, IgnoreFailures: true}
		})
		waitReady(t, hr, "1.0.0", 1)
		g.Expect(conditions.IsFalse(hr, helmv2.TestSuccessCondition)).To(BeTrue())
	})
}

// TestForceUpgrade checks reconcile.fluxcd.io/forceAt upgrades an in-sync
// release once.
func TestForceUpgrade(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	publishHelmChart(t, ns, "chart", "1.0.0", goodChart)
	hr := newRelease(t, ns, "app")
	waitReady(t, hr, "1.0.0", 1)
	update(t, hr, func(hr *helmv2.HelmRelease) {
		hr.Annotations = map[string]string{helmv2.ForceRequestAnnotation: "t1", fluxmeta.ReconcileRequestAnnotation: "t1"}
	})
	waitReady(t, hr, "1.0.0", 2)
	waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {
		g.Expect(hr.Status.LastHandledForceAt).To(Equal("t1"))
		g.Expect(hr.Status.LastHandledReconcileAt).To(Equal("t1"))
	})
	g.Expect(helmList(t, hr)[0].Version).To(Equal(2))
}

// TestUnlockPendingRelease leaves the release pending as a crashed
// controller would; the next reconcile marks it failed and upgrades.
func TestUnlockPendingRelease(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	publishHelmChart(t, ns, "chart", "1.0.0", goodChart)
	hr := newRelease(t, ns, "app")
	waitReady(t, hr, "1.0.0", 1)

	cfg := helmConfig(t, hr)
	rel, _, err := action.Last(cfg, "app")
	g.Expect(err).NotTo(HaveOccurred())
	rel.Info.Status = helmrelease.StatusPendingUpgrade
	g.Expect(cfg.Releases.Update(rel)).To(Succeed())
	update(t, hr, func(hr *helmv2.HelmRelease) {
		hr.Annotations = map[string]string{fluxmeta.ReconcileRequestAnnotation: "unlock"}
	})
	waitReady(t, hr, "1.0.0", 2)
	// A Helm configuration remembers what it read of storage for one
	// reconcile: read what the controller wrote with a new one.
	rels, err := helmConfig(t, hr).Releases.History("app")
	g.Expect(err).NotTo(HaveOccurred())
	for _, r := range rels {
		if r.Version == 1 {
			g.Expect(r.Info.Status).To(Equal(helmrelease.StatusSuperseded))
		}
	}
}

// TestPreserveValues upgrades with upgrade.preserveValues: Helm merges the
// new values over the stored ones, and the release stays in sync after.
func TestPreserveValues(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	publishHelmChart(t, ns, "chart", "1.0.0", goodChart)
	hr := newRelease(t, ns, "app", inlineValues(`{"extra":"kept"}`), func(hr *helmv2.HelmRelease) {
		hr.Spec.Upgrade = &helmv2.Upgrade{PreserveValues: true}
	})
	waitReady(t, hr, "1.0.0", 1)
	update(t, hr, inlineValues(`{"greeting":"hi"}`))
	waitReady(t, hr, "1.0.0", 2)
	cm, _ := configMap(t, ns, "app-b")
	g.Expect(cm.Data["extra"]).To(Equal("kept"))
	cm, _ = configMap(t, ns, "app-a")
	g.Expect(cm.Data["greeting"]).To(Equal("hi"))

	update(t, hr, func(hr *helmv2.HelmRelease) {
		hr.Annotations = map[string]string{fluxmeta.ReconcileRequestAnnotation: "again"}
	})
	waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {
		g.Expect(hr.Status.LastHandledReconcileAt).To(Equal("again"))
	})
	g.Expect(conditions.IsReady(hr)).To(BeTrue())
	g.Expect(hr.Status.History.Latest().Version).To(Equal(2), "no upgrade when nothing changed")
}

// TestDependsOn holds a release until the HelmRelease it depends on is
// ready.
func TestDependsOn(t *testing.T) {
	ns := newNamespace(t)
	publishHelmChart(t, ns, "chart", "1.0.0", goodChart)
	b := newRelease(t, ns, "b", func(hr *helmv2.HelmRelease) {
		hr.Spec.DependsOn = []meta.DependencyReference{{Name: "a"}}
	})
	waitFor(t, b, func(g Gomega, hr *helmv2.HelmRelease) {
		g.Expect(conditions.GetReason(hr, fluxmeta.ReadyCondition)).To(Equal(helmv2.DependencyNotReadyReason))
	})
	a := newRelease(t, ns, "a")
	waitReady(t, a, "1.0.0", 1)
	waitReady(t, b, "1.0.0", 1)
}

// TestPostRenderers patches the rendered ConfigMap; a change to the
// post-renderers alone upgrades the release.
func TestPostRenderers(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	publishHelmChart(t, ns, "chart", "1.0.0", goodChart)
	patch := func(v string) []helmv2.PostRenderer {
		return []helmv2.PostRenderer{{Kustomize: &helmv2.Kustomize{Patches: []meta.Patch{{
			Target: &meta.Selector{Kind: "ConfigMap", Name: "app-a"},
			Patch:  `[{"op":"add","path":"/data/patched","value":"` + v + `"}]`,
		}}}}}
	}
	hr := newRelease(t, ns, "app", func(hr *helmv2.HelmRelease) { hr.Spec.PostRenderers = patch("one") })
	waitReady(t, hr, "1.0.0", 1)
	cm, _ := configMap(t, ns, "app-a")
	g.Expect(cm.Data["patched"]).To(Equal("one"))
	g.Expect(hr.Status.ObservedPostRenderersDigest).To(HavePrefix("sha256:"))

	update(t, hr, func(hr *helmv2.HelmRelease) { hr.Spec.PostRenderers = patch("two") })
	waitReady(t, hr, "1.0.0", 2)
	cm, _ = configMap(t, ns, "app-a")
	g.Expect(cm.Data["patched"]).To(Equal("two"))
}
