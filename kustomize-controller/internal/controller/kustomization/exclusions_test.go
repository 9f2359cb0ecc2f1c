package kustomization

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
)

// editConfigMap changes a live ConfigMap as a user with kubectl would,
// retrying on conflicts.
func editConfigMap(t *testing.T, ns, name string, mutate func(*corev1.ConfigMap)) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		cm, err := getConfigMap(ns, name)
		g.Expect(err).NotTo(HaveOccurred())
		mutate(cm)
		g.Expect(env.Client.Update(context.Background(), cm)).To(Succeed())
	}, timeout, 100*time.Millisecond).Should(Succeed())
}

func setLabel(key, value string) func(*corev1.ConfigMap) {
	return func(cm *corev1.ConfigMap) {
		if cm.Labels == nil {
			cm.Labels = map[string]string{}
		}
		cm.Labels[key] = value
	}
}

func setAnnotation(key, value string) func(*corev1.ConfigMap) {
	return func(cm *corev1.ConfigMap) {
		if cm.Annotations == nil {
			cm.Annotations = map[string]string{}
		}
		cm.Annotations[key] = value
	}
}

func inventoryIDs(k *kustomizev1.Kustomization) []string {
	var ids []string
	for _, e := range k.Status.Inventory.Entries {
		ids = append(ids, e.ID)
	}
	return ids
}

func expectGone(t *testing.T, ns, name, why string) {
	t.Helper()
	NewWithT(t).Eventually(func() bool { _, err := getConfigMap(ns, name); return apierrors.IsNotFound(err) }, timeout).
		Should(BeTrue(), why)
}

// TestExclusionsAreNeverPrunedNorFinalized checks Flux's exclusion selector:
// reconcile: disabled and ssa: Ignore, as a label or an annotation, in Git
// or on the live object, in any letter case, keep an object from prune and
// from the finalizer, and an excluded object still in Git stays in the
// inventory without being waited for.
func TestExclusionsAreNeverPrunedNorFinalized(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	ctx := context.Background()
	publish(t, ns, "repo", "main@sha1:1", map[string]string{
		"app/normal.yaml":         configMap("normal", "v1"),
		"app/annotated.yaml":      configMap("annotated", "v1"),
		"app/labelled.yaml":       configMap("labelled", "v1"),
		"app/ignored-in-git.yaml": configMap("ignored-in-git", "v1"),
		"app/final-label.yaml":    configMap("final-label", "v1"),
		"app/final-ann.yaml":      configMap("final-ann", "v1"),
	})
	k := newKustomization(ns, "app", "./app", withTargetNamespace(ns), func(k *kustomizev1.Kustomization) {
		// A skipped object is not waited for: never-created never exists.
		k.Spec.Wait = true
	})
	g.Expect(env.Client.Create(ctx, k)).To(Succeed())
	waitApplied(t, k, "main@sha1:1")

	// A user takes two applied objects out of the controller's hands, then
	// removes them from Git.
	editConfigMap(t, ns, "annotated", setAnnotation(kustomizev1.ReconcileAnnotation, "Disabled"))
	editConfigMap(t, ns, "labelled", setLabel(kustomizev1.SSAAnnotation, "ignore"))
	// And marks one in Git (lowercase, as users write it).
	stillInGit := func(v string) map[string]string {
		return map[string]string{
			"app/normal.yaml":         configMap("normal", v),
			"app/ignored-in-git.yaml": configMap("ignored-in-git", v, kustomizev1.SSAAnnotation+": ignore"),
			"app/never-created.yaml":  configMap("never-created", v, kustomizev1.SSAAnnotation+": Ignore"),
			"app/final-label.yaml":    configMap("final-label", v),
			"app/final-ann.yaml":      configMap("final-ann", v),
		}
	}
	publish(t, ns, "repo", "main@sha1:2", stillInGit("v2"))
	got := waitApplied(t, k, "main@sha1:2")

	normal, err := getConfigMap(ns, "normal")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(normal.Data["key"]).To(Equal("v2"))
	for _, name := range []string{"annotated", "labelled"} {
		cm, err := getConfigMap(ns, name)
		g.Expect(err).NotTo(HaveOccurred(), "%s is excluded on the live object and must not be pruned", name)
		g.Expect(cm.DeletionTimestamp).To(BeNil())
	}
	ignored, err := getConfigMap(ns, "ignored-in-git")
	g.Expect(err).NotTo(HaveOccurred(), "an ssa: Ignore object must not be pruned")
	g.Expect(ignored.Data["key"]).To(Equal("v1"), "an ssa: Ignore object must not be applied")
	_, err = getConfigMap(ns, "never-created")
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "an ssa: Ignore object is never created")
	ids := inventoryIDs(got)
	g.Expect(ids).To(ContainElement(ns+"_ignored-in-git__ConfigMap"), "an ssa: Ignore object in Git stays in the inventory")
	g.Expect(ids).NotTo(ContainElements(ns+"_annotated__ConfigMap", ns+"_labelled__ConfigMap"), "objects that left Git leave the inventory")

	// Excluded on the live object while still in Git: skipped on the next
	// apply, kept in the inventory, and left behind by the finalizer.
	editConfigMap(t, ns, "final-label", setLabel(kustomizev1.ReconcileAnnotation, kustomizev1.DisabledValue))
	editConfigMap(t, ns, "final-ann", setAnnotation(kustomizev1.SSAAnnotation, "IGNORE"))
	publish(t, ns, "repo", "main@sha1:3", stillInGit("v3"))
	got = waitApplied(t, k, "main@sha1:3")
	g.Expect(inventoryIDs(got)).To(ContainElements(ns+"_final-label__ConfigMap", ns+"_final-ann__ConfigMap"))
	for _, name := range []string{"final-label", "final-ann"} {
		cm, err := getConfigMap(ns, name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(cm.Data["key"]).To(Equal("v2"), "%s is excluded on the live object and must not be applied", name)
	}

	g.Expect(env.Client.Delete(ctx, k)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(k), &kustomizev1.Kustomization{}))
	}, timeout).Should(BeTrue())
	expectGone(t, ns, "normal", "the finalizer deletes what is not excluded")
	for _, name := range []string{"final-label", "final-ann", "annotated", "labelled"} {
		cm, err := getConfigMap(ns, name)
		g.Expect(err).NotTo(HaveOccurred(), "%s is excluded and must survive the finalizer", name)
		g.Expect(cm.DeletionTimestamp).To(BeNil())
	}
}

// TestDeletingASuspendedKustomizationKeepsItsObjects checks that, as in
// Flux, a suspended Kustomization's finalizer deletes nothing, even with
// prune and deletionPolicy: Delete.
func TestDeletingASuspendedKustomizationKeepsItsObjects(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	ctx := context.Background()
	publish(t, ns, "repo", "main@sha1:1", map[string]string{"app/cm.yaml": configMap("cm", "v1")})
	k := newKustomization(ns, "app", "./app", withTargetNamespace(ns), func(k *kustomizev1.Kustomization) {
		k.Spec.DeletionPolicy = kustomizev1.DeletionPolicyDelete
	})
	g.Expect(env.Client.Create(ctx, k)).To(Succeed())
	waitApplied(t, k, "main@sha1:1")

	updateSpec(t, k, func(k *kustomizev1.Kustomization) { k.Spec.Suspend = true })
	g.Expect(env.Client.Delete(ctx, k)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(k), &kustomizev1.Kustomization{}))
	}, timeout).Should(BeTrue())
	cm, err := getConfigMap(ns, "cm")
	g.Expect(err).NotTo(HaveOccurred(), "a suspended Kustomization must not delete its objects")
	g.Expect(cm.DeletionTimestamp).To(BeNil())
}
