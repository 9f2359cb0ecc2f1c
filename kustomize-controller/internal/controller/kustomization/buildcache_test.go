package kustomization

import (
	"context"
	"testing"
	"time"

	"github.com/ferrycd/ferry/pkg/apis/meta"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
)

// reconcileUnchanged runs k's reconcile by hand until one makes no dry-run
// and no write (the drift watch has listed its objects; substituteFrom
// objects are still read), so the last build is remembered and the next
// change has to get past it.
func reconcileUnchanged(t *testing.T, k *kustomizev1.Kustomization) {
	t.Helper()
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(k)}
	NewWithT(t).Eventually(func(g Gomega) {
		mark := requests.Mark(k.Namespace)
		_, err := reconciler.Reconcile(context.Background(), req)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(requests.Since(k.Namespace, mark)).NotTo(ContainElement(Not(HavePrefix("get "))))
	}, timeout).Should(Succeed())
	reconciler.builds.mu.Lock()
	_, ok := reconciler.builds.builds[req.NamespacedName]
	reconciler.builds.mu.Unlock()
	if !ok {
		t.Fatal("the build of an unchanged Kustomization is not remembered")
	}
}

// expectData waits until the ConfigMap ns/name holds key=value.
func expectData(t *testing.T, ns, name, key, value string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		cm, err := getConfigMap(ns, name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(cm.Data).To(HaveKeyWithValue(key, value))
	}, timeout, 100*time.Millisecond).Should(Succeed())
}

// TestRememberedBuildGivesWayToEveryChange: a remembered build is reused
// only while every build input is the same. A changed substituteFrom
// ConfigMap value, a changed spec patch, a new artifact revision, a drifted
// object and a requested reconcile each still build and apply.
func TestRememberedBuildGivesWayToEveryChange(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	ctx := context.Background()
	vars := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "vars", Namespace: ns}, Data: map[string]string{"region": "eu"}}
	g.Expect(env.Client.Create(ctx, vars)).To(Succeed())
	files := map[string]string{"cm.yaml": configMap("cm", "${region}")}
	publish(t, ns, "repo", "main@sha1:1", files)
	k := newKustomization(ns, "app", "./", withTargetNamespace(ns), func(k *kustomizev1.Kustomization) {
		k.Spec.PostBuild = &kustomizev1.PostBuild{SubstituteFrom: []kustomizev1.SubstituteReference{{Kind: "ConfigMap", Name: "vars"}}}
	})
	g.Expect(env.Client.Create(ctx, k)).To(Succeed())
	waitApplied(t, k, "main@sha1:1")
	expectData(t, ns, "cm", "key", "eu")

	// A substituteFrom value changes neither the spec nor the artifact.
	reconcileUnchanged(t, k)
	vars.Data["region"] = "us"
	g.Expect(env.Client.Update(ctx, vars)).To(Succeed())
	requestReconcile(t, k)
	expectData(t, ns, "cm", "key", "us")

	reconcileUnchanged(t, k)
	updateSpec(t, k, func(k *kustomizev1.Kustomization) {
		k.Spec.Patches = []meta.Patch{{
			Patch:  `[{"op": "add", "path": "/data/patched", "value": "yes"}]`,
			Target: &meta.Selector{Kind: "ConfigMap", Name: "cm"},
		}}
	})
	expectData(t, ns, "cm", "patched", "yes")

	reconcileUnchanged(t, k)
	files["cm.yaml"] = configMap("cm", "${region}-2")
	publish(t, ns, "repo", "main@sha1:2", files)
	waitApplied(t, k, "main@sha1:2")
	expectData(t, ns, "cm", "key", "us-2")

	reconcileUnchanged(t, k)
	cm, err := getConfigMap(ns, "cm")
	g.Expect(err).NotTo(HaveOccurred())
	cm.Data["key"] = "edited by hand"
	g.Expect(env.Client.Update(ctx, cm)).To(Succeed())
	expectData(t, ns, "cm", "key", "us-2")

	// A requested reconcile of an unchanged Kustomization is handled, with
	// the remembered build, and the objects stay as Git says.
	reconcileUnchanged(t, k)
	got := requestAndWait(t, k)
	g.Expect(got.Status.LastAppliedRevision).To(Equal("main@sha1:2"))
	expectData(t, ns, "cm", "key", "us-2")
	expectData(t, ns, "cm", "patched", "yes")
}

// TestUnchangedReconcilePostsNoEvent: an interval reconcile that changes
// nothing records no event, as Flux records none. The recorder posts in
// order, so once a later change's event is listed, any event of the
// unchanged reconciles would be listed too.
func TestUnchangedReconcilePostsNoEvent(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	files := map[string]string{"cm.yaml": configMap("cm", "1")}
	publish(t, ns, "repo", "main@sha1:1", files)
	k := newKustomization(ns, "app", "./", withTargetNamespace(ns))
	g.Expect(env.Client.Create(context.Background(), k)).To(Succeed())
	waitApplied(t, k, "main@sha1:1")
	g.Eventually(func() []string { return events(t, ns, "Progressing") }, timeout).Should(HaveLen(1))

	reconcileUnchanged(t, k)
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(k)}
	for range 20 {
		_, err := reconciler.Reconcile(context.Background(), req)
		g.Expect(err).NotTo(HaveOccurred())
	}

	files["cm.yaml"] = configMap("cm", "2")
	publish(t, ns, "repo", "main@sha1:2", files)
	waitApplied(t, k, "main@sha1:2")
	g.Eventually(func() []string { return events(t, ns, "Progressing") }, timeout).Should(HaveLen(2))
	var list corev1.EventList
	g.Expect(env.Client.List(context.Background(), &list, client.InNamespace(ns))).To(Succeed())
	var reasons []string
	for _, e := range list.Items {
		if e.InvolvedObject.Kind == kustomizev1.KustomizationKind {
			reasons = append(reasons, e.Reason+": "+e.Message)
		}
	}
	g.Expect(reasons).To(HaveLen(2), "only the two applies post events: %v", reasons)
}
