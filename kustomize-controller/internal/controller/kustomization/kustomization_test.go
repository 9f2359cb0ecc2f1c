package kustomization

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/apis/meta"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

const timeout = 60 * time.Second

func nowTime() metav1.Time { return metav1.Now() }

func newNamespace(t testing.TB) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "ks-"}}
	if err := env.Client.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// publish sets the GitRepository ns/name to serve files at revision rev,
// creating it on first use, as the source-controller would.
func publish(t testing.TB, ns, name, rev string, files map[string]string) {
	t.Helper()
	publishSource(t, rev, files, &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       sourcev1.GitRepositorySpec{URL: "https://git.example/" + name, Interval: metav1.Duration{Duration: time.Hour}},
	}, func(r *sourcev1.GitRepository, a *fluxmeta.Artifact) { r.Status.Artifact = a })
}

// source is a source kind whose status holds an artifact.
type source interface {
	client.Object
	conditions.Setter
}

// publishSource serves files at revision rev as the artifact of the source
// named by fresh, which is created as fresh on first use, and marks it
// Ready, as its producer would.
func publishSource[T source](t testing.TB, rev string, files map[string]string, fresh T, setArtifact func(T, *fluxmeta.Artifact)) {
	t.Helper()
	g := NewWithT(t)
	a, err := artifacts.Publish(rev, files)
	g.Expect(err).NotTo(HaveOccurred())
	ctx := context.Background()
	src := fresh.DeepCopyObject().(T)
	err = env.Client.Get(ctx, client.ObjectKeyFromObject(fresh), src)
	if apierrors.IsNotFound(err) {
		src = fresh
		g.Expect(env.Client.Create(ctx, src)).To(Succeed())
	} else {
		g.Expect(err).NotTo(HaveOccurred())
	}
	setArtifact(src, a)
	conditions.MarkTrue(src, fluxmeta.ReadyCondition, fluxmeta.SucceededReason, "stored artifact for revision '%s'", rev)
	g.Expect(env.Client.Status().Update(ctx, src)).To(Succeed())
}

func newKustomization(ns, name, path string, mutate ...func(*kustomizev1.Kustomization)) *kustomizev1.Kustomization {
	k := &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: kustomizev1.KustomizationSpec{
			Interval:  metav1.Duration{Duration: time.Hour},
			Path:      path,
			Prune:     true,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "repo"},
			Timeout:   &metav1.Duration{Duration: 20 * time.Second},
		},
	}
	for _, m := range mutate {
		m(k)
	}
	return k
}

// waitApplied waits until k is Ready at revision and returns it.
func waitApplied(t testing.TB, k *kustomizev1.Kustomization, revision string) *kustomizev1.Kustomization {
	t.Helper()
	got := &kustomizev1.Kustomization{}
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(k), got)).To(Succeed())
		ready := conditions.Get(got, fluxmeta.ReadyCondition)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), ready.Message)
		g.Expect(got.Status.LastAppliedRevision).To(Equal(revision))
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
	}, timeout, 100*time.Millisecond).Should(Succeed())
	return got
}

// waitFailed waits until k is Ready=False with reason and a message holding
// every one of parts.
func waitFailed(t *testing.T, k *kustomizev1.Kustomization, reason string, parts ...string) *kustomizev1.Kustomization {
	t.Helper()
	got := &kustomizev1.Kustomization{}
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(k), got)).To(Succeed())
		ready := conditions.Get(got, fluxmeta.ReadyCondition)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(reason), ready.Message)
		for _, p := range parts {
			g.Expect(ready.Message).To(ContainSubstring(p))
		}
	}, timeout, 100*time.Millisecond).Should(Succeed())
	return got
}

func configMap(name, data string, annotations ...string) string {
	ann := ""
	if len(annotations) > 0 {
		ann = "  annotations:\n"
		for _, a := range annotations {
			ann += "    " + a + "\n"
		}
	}
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n%sdata:\n  key: %q\n", name, ann, data)
}

func getConfigMap(ns, name string) (*corev1.ConfigMap, error) {
	cm := &corev1.ConfigMap{}
	err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, cm)
	return cm, err
}

func TestApplyUpdatePrune(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	publish(t, ns, "repo", "main@sha1:1", map[string]string{
		"app/a.yaml":    configMap("a", "v1"),
		"app/b.yaml":    configMap("b", "v1"),
		"app/keep.yaml": configMap("keep", "v1", "kustomize.toolkit.fluxcd.io/prune: disabled"),
	})
	k := newKustomization(ns, "app", "./app", func(k *kustomizev1.Kustomization) { k.Spec.TargetNamespace = ns })
	g.Expect(env.Client.Create(context.Background(), k)).To(Succeed())
	got := waitApplied(t, k, "main@sha1:1")

	ids := []string{}
	for _, e := range got.Status.Inventory.Entries {
		ids = append(ids, e.ID+"@"+e.Version)
	}
	g.Expect(ids).To(ConsistOf(ns+"_a__ConfigMap@v1", ns+"_b__ConfigMap@v1", ns+"_keep__ConfigMap@v1"))
	a, err := getConfigMap(ns, "a")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(a.Labels).To(HaveKeyWithValue("kustomize.toolkit.fluxcd.io/name", "app"))
	g.Expect(a.Labels).To(HaveKeyWithValue("kustomize.toolkit.fluxcd.io/namespace", ns))
	g.Expect(a.ManagedFields[0].Manager).To(Equal("kustomize-controller"))

	publish(t, ns, "repo", "main@sha1:2", map[string]string{
		"app/a.yaml": configMap("a", "v2"),
		"app/c.yaml": configMap("c", "v1"),
	})
	waitApplied(t, k, "main@sha1:2")
	a, err = getConfigMap(ns, "a")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(a.Data["key"]).To(Equal("v2"))
	_, err = getConfigMap(ns, "c")
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func() bool { _, err := getConfigMap(ns, "b"); return apierrors.IsNotFound(err) }, timeout).Should(BeTrue(), "b left Git and must be pruned")
	_, err = getConfigMap(ns, "keep")
	g.Expect(err).NotTo(HaveOccurred(), "prune: disabled must keep the object")

	var events corev1.EventList
	g.Expect(env.Client.List(context.Background(), &events, client.InNamespace(ns))).To(Succeed())
	var messages []string
	for _, e := range events.Items {
		messages = append(messages, e.Message)
	}
	g.Expect(strings.Join(messages, "\n")).To(ContainSubstring("ConfigMap/" + ns + "/a configured"))
}

func TestDriftIsRevertedOnTheNextReconcile(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	publish(t, ns, "repo", "main@sha1:1", map[string]string{"cm.yaml": configMap("cm", "git")})
	k := newKustomization(ns, "app", "./", func(k *kustomizev1.Kustomization) { k.Spec.TargetNamespace = ns })
	g.Expect(env.Client.Create(context.Background(), k)).To(Succeed())
	got := waitApplied(t, k, "main@sha1:1")

	cm, err := getConfigMap(ns, "cm")
	g.Expect(err).NotTo(HaveOccurred())
	cm.Data["key"] = "edited by hand"
	g.Expect(env.Client.Update(context.Background(), cm)).To(Succeed())

	patch := client.MergeFrom(got.DeepCopy())
	got.Annotations = map[string]string{fluxmeta.ReconcileRequestAnnotation: "now"}
	g.Expect(env.Client.Patch(context.Background(), got, patch)).To(Succeed())
	g.Eventually(func(g Gomega) {
		cm, err := getConfigMap(ns, "cm")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(cm.Data["key"]).To(Equal("git"))
	}, timeout, 100*time.Millisecond).Should(Succeed())
}

func TestDependsOnOrdersThreeKustomizations(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	publish(t, ns, "repo", "main@sha1:1", map[string]string{
		"a/cm.yaml": configMap("a", "1"), "b/cm.yaml": configMap("b", "1"), "c/cm.yaml": configMap("c", "1"),
	})
	dep := func(name string) func(*kustomizev1.Kustomization) {
		return func(k *kustomizev1.Kustomization) {
			k.Spec.TargetNamespace = ns
			if name != "" {
				k.Spec.DependsOn = []meta.DependencyReference{{Name: name}}
			}
		}
	}
	c := newKustomization(ns, "c", "./c", dep("b"))
	b := newKustomization(ns, "b", "./b", dep("a"))
	a := newKustomization(ns, "a", "./a", dep(""))
	g.Expect(env.Client.Create(context.Background(), c)).To(Succeed())
	g.Expect(env.Client.Create(context.Background(), b)).To(Succeed())
	waitFailed(t, c, kustomizev1.DependencyNotReadyReason, "dependency '"+ns+"/b'")
	_, err := getConfigMap(ns, "c")
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "c must not apply before its dependencies")

	start := time.Now()
	g.Expect(env.Client.Create(context.Background(), a)).To(Succeed())
	ga := waitApplied(t, a, "main@sha1:1")
	gb := waitApplied(t, b, "main@sha1:1")
	gc := waitApplied(t, c, "main@sha1:1")
	readyAt := func(k *kustomizev1.Kustomization) time.Time {
		return conditions.Get(k, fluxmeta.ReadyCondition).LastTransitionTime.Time
	}
	g.Expect(readyAt(gb)).NotTo(BeTemporally("<", readyAt(ga)))
	g.Expect(readyAt(gc)).NotTo(BeTemporally("<", readyAt(gb)))
	// The chain is woken by watches, not by polling every retryInterval.
	g.Expect(time.Since(start)).To(BeNumerically("<", 30*time.Second))
}

func TestBadInputChangesNothing(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	publish(t, ns, "repo", "main@sha1:1", map[string]string{"app/cm.yaml": configMap("cm", "v1")})
	k := newKustomization(ns, "app", "./app", func(k *kustomizev1.Kustomization) { k.Spec.TargetNamespace = ns })
	g.Expect(env.Client.Create(context.Background(), k)).To(Succeed())
	good := waitApplied(t, k, "main@sha1:1")

	tests := []struct {
		name   string
		files  map[string]string
		reason string
		parts  []string
	}{
		{"malformed YAML", map[string]string{"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n"},
			kustomizev1.BuildFailedReason, nil},
		{"kustomization that does not build", map[string]string{"app/kustomization.yaml": "resources:\n  - missing.yaml\n"},
			kustomizev1.BuildFailedReason, []string{"missing.yaml"}},
		{"custom resource without a CRD", map[string]string{"app/cr.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n"},
			kustomizev1.ReconciliationFailedReason, []string{"Widget"}},
		{"API server rejects one object", map[string]string{
			"app/cm.yaml":  configMap("cm", "v2"),
			"app/bad.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: bad\nspec:\n  ports:\n    - port: 99999\n",
		}, kustomizev1.ReconciliationFailedReason, []string{"Service/" + ns + "/bad"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			rev := fmt.Sprintf("main@sha1:bad%d", i)
			publish(t, ns, "repo", rev, tt.files)
			// The patch helper writes the conditions before the other
			// status fields, and the previous case left Ready=False too:
			// wait for this revision's attempt.
			var got *kustomizev1.Kustomization
			g.Eventually(func() string {
				got = waitFailed(t, k, tt.reason, tt.parts...)
				return got.Status.LastAttemptedRevision
			}, timeout, 100*time.Millisecond).Should(Equal(rev))
			g.Expect(got.Status.LastAppliedRevision).To(Equal("main@sha1:1"))
			g.Expect(got.Status.Inventory).To(Equal(good.Status.Inventory), "the inventory must keep every owned object")
			cm, err := getConfigMap(ns, "cm")
			g.Expect(err).NotTo(HaveOccurred(), "nothing may be pruned on bad input")
			g.Expect(cm.Data["key"]).To(Equal("v1"), "nothing may be half-applied")
		})
	}
}

func TestHealthWait(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	publish(t, ns, "repo", "main@sha1:1", map[string]string{
		"good/deploy.yaml": deployment("web", "kwok"),
		"bad/deploy.yaml":  deployment("stuck", "no-such-node"),
	})
	good := newKustomization(ns, "good", "./good", func(k *kustomizev1.Kustomization) {
		k.Spec.TargetNamespace = ns
		k.Spec.Wait = true
	})
	g.Expect(env.Client.Create(context.Background(), good)).To(Succeed())
	got := waitApplied(t, good, "main@sha1:1")
	g.Expect(conditions.IsTrue(got, kustomizev1.HealthyCondition)).To(BeTrue())
	var d appsv1.Deployment
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "web"}, &d)).To(Succeed())
	g.Expect(d.Status.AvailableReplicas).To(Equal(int32(1)))

	bad := newKustomization(ns, "bad", "./bad", func(k *kustomizev1.Kustomization) {
		k.Spec.TargetNamespace = ns
		k.Spec.Timeout = &metav1.Duration{Duration: 5 * time.Second}
		k.Spec.HealthChecks = []fluxmeta.NamespacedObjectKindReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "stuck"}}
	})
	g.Expect(env.Client.Create(context.Background(), bad)).To(Succeed())
	failed := waitFailed(t, bad, kustomizev1.HealthCheckFailedReason, "stuck")
	g.Expect(conditions.IsFalse(failed, kustomizev1.HealthyCondition)).To(BeTrue())
}

func TestForceRecreatesOnImmutableChange(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	immutable := func(v string) string {
		return configMap("frozen", v) + "immutable: true\n"
	}
	publish(t, ns, "repo", "main@sha1:1", map[string]string{"cm.yaml": immutable("v1")})
	k := newKustomization(ns, "app", "./", func(k *kustomizev1.Kustomization) { k.Spec.TargetNamespace = ns })
	g.Expect(env.Client.Create(context.Background(), k)).To(Succeed())
	waitApplied(t, k, "main@sha1:1")

	publish(t, ns, "repo", "main@sha1:2", map[string]string{"cm.yaml": immutable("v2")})
	waitFailed(t, k, kustomizev1.ReconciliationFailedReason, "immutable")

	got := &kustomizev1.Kustomization{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(k), got)).To(Succeed())
	got.Spec.Force = true
	g.Expect(env.Client.Update(context.Background(), got)).To(Succeed())
	waitApplied(t, k, "main@sha1:2")
	cm, err := getConfigMap(ns, "frozen")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cm.Data["key"]).To(Equal("v2"))
}

func TestImpersonationIsBoundByRBAC(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	ctx := context.Background()
	g.Expect(env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "tenant", Namespace: ns}})).To(Succeed())
	publish(t, ns, "repo", "main@sha1:1", map[string]string{"cm.yaml": configMap("cm", "v1")})
	k := newKustomization(ns, "app", "./", func(k *kustomizev1.Kustomization) {
		k.Spec.TargetNamespace = ns
		k.Spec.ServiceAccountName = "tenant"
	})
	g.Expect(env.Client.Create(ctx, k)).To(Succeed())
	waitFailed(t, k, kustomizev1.ReconciliationFailedReason, "forbidden", "system:serviceaccount:"+ns+":tenant")
	_, err := getConfigMap(ns, "cm")
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue())

	g.Expect(env.Client.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "tenant-edit", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "admin"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "tenant", Namespace: ns}},
	})).To(Succeed())
	g.Expect(env.Client.Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "admin"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}},
	})).To(Or(Succeed(), WithTransform(apierrors.IsAlreadyExists, BeTrue())))
	publish(t, ns, "repo", "main@sha1:2", map[string]string{"cm.yaml": configMap("cm", "v1")})
	waitApplied(t, k, "main@sha1:2")
}

func TestDeletionPrunesWhatWasApplied(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	publish(t, ns, "repo", "main@sha1:1", map[string]string{"cm.yaml": configMap("cm", "v1")})
	k := newKustomization(ns, "app", "./", func(k *kustomizev1.Kustomization) { k.Spec.TargetNamespace = ns })
	g.Expect(env.Client.Create(context.Background(), k)).To(Succeed())
	waitApplied(t, k, "main@sha1:1")
	g.Expect(env.Client.Delete(context.Background(), k)).To(Succeed())
	g.Eventually(func() bool { _, err := getConfigMap(ns, "cm"); return apierrors.IsNotFound(err) }, timeout).Should(BeTrue())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(context.Background(), client.ObjectKeyFromObject(k), &kustomizev1.Kustomization{}))
	}, timeout).Should(BeTrue())
}
