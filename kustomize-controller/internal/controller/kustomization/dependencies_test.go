package kustomization

import (
	"context"
	"sync"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/apis/meta"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/dependency"
)

// testHold is a finalizer of the tests' own, standing in for a controller
// that takes its time to tear an object down.
const testHold = "test.ferrycd.io/hold"

// newHelmRelease creates a HelmRelease in ns; no helm-controller runs here,
// so its status is what the test writes, as the helm-controller would.
func newHelmRelease(t *testing.T, ns, name string, mutate ...func(*helmv2.HelmRelease)) *helmv2.HelmRelease {
	t.Helper()
	hr := &helmv2.HelmRelease{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: helmv2.HelmReleaseSpec{Interval: metav1.Duration{Duration: time.Hour},
			ChartRef: &helmv2.CrossNamespaceSourceReference{Kind: sourcev1.HelmChartKind, Name: "chart"}},
	}
	for _, m := range mutate {
		m(hr)
	}
	NewWithT(t).Expect(env.Client.Create(context.Background(), hr)).To(Succeed())
	return hr
}

// markReleased writes Ready=True for the current generation, as the
// helm-controller does after a successful release.
func markReleased(t *testing.T, hr *helmv2.HelmRelease) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		cur := &helmv2.HelmRelease{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(hr), cur); err != nil {
			return err
		}
		conditions.MarkTrue(cur, fluxmeta.ReadyCondition, helmv2.InstallSucceededReason, "released")
		cur.Status.ObservedGeneration = cur.Generation
		return env.Client.Status().Update(context.Background(), cur)
	}, timeout).Should(Succeed())
}

// TestDependsOnAHelmRelease checks that a Kustomization waits for a
// HelmRelease it depends on, naming it, and is woken the moment the release
// becomes Ready (its intervals are an hour, so only the watch can wake it).
func TestDependsOnAHelmRelease(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	publish(t, ns, "repo", "main@sha1:1", map[string]string{"app/cm.yaml": configMap("cm", "v1")})
	db := newHelmRelease(t, ns, "db")
	k := newKustomization(ns, "app", "./app", func(k *kustomizev1.Kustomization) {
		k.Spec.TargetNamespace = ns
		k.Spec.DependsOn = []meta.DependencyReference{{Kind: meta.HelmReleaseKind, Name: "db"}}
	})
	g.Expect(env.Client.Create(ctx, k)).To(Succeed())
	waitFailed(t, k, kustomizev1.DependencyNotReadyReason, "dependency '"+ns+"/db' (HelmRelease) is not ready")
	_, err := getConfigMap(ns, "cm")
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "app must not apply before the release is ready")

	start := time.Now()
	markReleased(t, db)
	waitApplied(t, k, "main@sha1:1")
	g.Expect(time.Since(start)).To(BeNumerically("<", 15*time.Second), "woken by the watch, not by an interval")
}

// TestDependencyCycleAcrossKinds checks that a cycle through a HelmRelease
// stalls the Kustomization with a message naming the whole cycle.
func TestDependencyCycleAcrossKinds(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	publish(t, ns, "repo", "main@sha1:1", map[string]string{"app/cm.yaml": configMap("cm", "v1")})
	newHelmRelease(t, ns, "db", func(hr *helmv2.HelmRelease) {
		hr.Spec.DependsOn = []meta.DependencyReference{{Kind: meta.KustomizationKind, Name: "app"}}
	})
	k := newKustomization(ns, "app", "./app", func(k *kustomizev1.Kustomization) {
		k.Spec.DependsOn = []meta.DependencyReference{{Kind: meta.HelmReleaseKind, Name: "db"}}
	})
	g.Expect(env.Client.Create(ctx, k)).To(Succeed())
	got := waitFailed(t, k, dependency.CycleReason,
		"dependency cycle: Kustomization/"+ns+"/app -> HelmRelease/"+ns+"/db -> Kustomization/"+ns+"/app")
	g.Expect(conditions.IsTrue(got, fluxmeta.StalledCondition)).To(BeTrue())
	g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
}

// deletionOrder records, from the API server, the order in which objects of
// a namespace are deleted for good.
type deletionOrder struct {
	mu   sync.Mutex
	gone []string
}

func watchDeletions(t *testing.T, ns string, lists ...client.ObjectList) *deletionOrder {
	t.Helper()
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	d := &deletionOrder{}
	for _, list := range lists {
		w, err := wc.Watch(context.Background(), list, client.InNamespace(ns))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
		go func() {
			for ev := range w.ResultChan() {
				if o, ok := ev.Object.(client.Object); ok && ev.Type == watch.Deleted {
					d.mu.Lock()
					d.gone = append(d.gone, o.GetName())
					d.mu.Unlock()
				}
			}
		}()
	}
	return d
}

func (d *deletionOrder) names() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.gone...)
}

func releaseHold(t *testing.T, o client.Object) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(o), o); err != nil {
			return err
		}
		controllerutil.RemoveFinalizer(o, testHold)
		return env.Client.Update(context.Background(), o)
	}, timeout).Should(Succeed())
}

// TestDeletionInReverseDependencyOrder deletes a Kustomization together
// with a Kustomization and a HelmRelease that depend on it, and observes
// from the API server that it, and what it applied, goes only after both
// dependents are gone, saying what it waits for meanwhile.
func TestDeletionInReverseDependencyOrder(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	publish(t, ns, "repo", "main@sha1:1", map[string]string{
		"infra/cm.yaml": configMap("infra-cm", "v1"), "app/cm.yaml": configMap("app-cm", "v1"),
	})
	dependsOnInfra := []meta.DependencyReference{{Kind: meta.KustomizationKind, Name: "infra"}}
	infra := newKustomization(ns, "infra", "./infra", func(k *kustomizev1.Kustomization) { k.Spec.TargetNamespace = ns })
	app := newKustomization(ns, "app", "./app", func(k *kustomizev1.Kustomization) {
		k.Spec.TargetNamespace = ns
		k.Spec.DependsOn = dependsOnInfra
		// Holds app after its own teardown, as a slow one would.
		k.Finalizers = []string{testHold}
	})
	g.Expect(env.Client.Create(ctx, infra)).To(Succeed())
	g.Expect(env.Client.Create(ctx, app)).To(Succeed())
	waitApplied(t, infra, "main@sha1:1")
	waitApplied(t, app, "main@sha1:1")
	web := newHelmRelease(t, ns, "web", func(hr *helmv2.HelmRelease) {
		hr.Spec.DependsOn = dependsOnInfra
		hr.Finalizers = []string{testHold}
	})

	order := watchDeletions(t, ns, &kustomizev1.KustomizationList{}, &helmv2.HelmReleaseList{})
	// Deleted in one pass, dependents first: the finalizer of infra sees
	// their deletion in the cache when it runs. (Deleted the other way
	// round, infra may finalize before the cache holds theirs.)
	for _, o := range []client.Object{app, web, infra} {
		g.Expect(env.Client.Delete(ctx, o)).To(Succeed())
	}
	// app's own finalizer goes: its objects are deleted while infra waits.
	g.Eventually(func() bool {
		_, err := getConfigMap(ns, "app-cm")
		return apierrors.IsNotFound(err)
	}, timeout).Should(BeTrue())
	waitFailed(t, infra, dependency.DependentsReason, "Kustomization '"+ns+"/app'", "HelmRelease '"+ns+"/web'")
	g.Consistently(func() error {
		_, err := getConfigMap(ns, "infra-cm")
		return err
	}, 2*time.Second, 200*time.Millisecond).Should(Succeed(), "infra's objects outlive its dependents")

	releaseHold(t, app)
	waitFailed(t, infra, dependency.DependentsReason, "HelmRelease '"+ns+"/web'")
	releaseHold(t, web)
	// Intervals are an hour: only the deletion watch can wake infra now.
	g.Eventually(func() error {
		return env.Client.Get(ctx, client.ObjectKeyFromObject(infra), &kustomizev1.Kustomization{})
	}, 15*time.Second, 100*time.Millisecond).ShouldNot(Succeed())
	_, err := getConfigMap(ns, "infra-cm")
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "infra deletes what it applied, last")
	g.Eventually(order.names, timeout).Should(HaveLen(3))
	g.Expect(order.names()[2]).To(Equal("infra"), "dependents are deleted before what they depend on")
}

// TestAppOfAppsTearsDownDependentsFirst deletes a root Kustomization whose
// children depend on each other: the root deletes the dependent child
// first, and the child it depends on, and what that one applied, stays
// until the dependent is gone.
func TestAppOfAppsTearsDownDependentsFirst(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	child := func(name, path, extra string) string {
		return "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: " + name + "\n" + extra +
			"spec:\n  interval: 1h\n  prune: true\n  path: " + path + "\n  targetNamespace: " + ns +
			"\n  sourceRef: {kind: GitRepository, name: repo}\n"
	}
	publish(t, ns, "repo", "main@sha1:1", map[string]string{
		// "app" sorts before "infra": deleted by kind and name, infra
		// would go first.
		"root/infra.yaml": child("infra", "./infra", ""),
		"root/app.yaml": child("app", "./app", "  finalizers: ["+testHold+"]\n") +
			"  dependsOn: [{name: infra}]\n",
		"infra/cm.yaml": configMap("infra-cm", "v1"),
		"app/cm.yaml":   configMap("app-cm", "v1"),
	})
	root := newKustomization(ns, "root", "./root", func(k *kustomizev1.Kustomization) { k.Spec.TargetNamespace = ns })
	g.Expect(env.Client.Create(ctx, root)).To(Succeed())
	waitApplied(t, root, "main@sha1:1")
	infra := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "infra"}}
	app := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}}
	waitApplied(t, infra, "main@sha1:1")
	waitApplied(t, app, "main@sha1:1")

	order := watchDeletions(t, ns, &kustomizev1.KustomizationList{})
	g.Expect(env.Client.Delete(ctx, root)).To(Succeed())
	waitFailed(t, infra, dependency.DependentsReason, "Kustomization '"+ns+"/app'")
	g.Consistently(func() error {
		_, err := getConfigMap(ns, "infra-cm")
		return err
	}, 2*time.Second, 200*time.Millisecond).Should(Succeed(), "infra's objects outlive app")
	releaseHold(t, app)
	g.Eventually(order.names, timeout).Should(ContainElement("infra"))
	g.Expect(order.names()).To(HaveExactElements("root", "app", "infra"))
}
