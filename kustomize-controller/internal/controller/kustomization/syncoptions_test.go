package kustomization

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
)

// TestCreateNamespace checks that createNamespace creates a missing
// targetNamespace labelled as this Kustomization's and applies into it, and
// that without it the apply fails for want of the namespace.
func TestCreateNamespace(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	publish(t, ns, "repo", "main@sha1:1", map[string]string{"app/cm.yaml": configMap("cm", "v1")})

	without := newKustomization(ns, "without", "./app", func(k *kustomizev1.Kustomization) { k.Spec.TargetNamespace = ns + "-absent" })
	g.Expect(env.Client.Create(ctx, without)).To(Succeed())
	waitFailed(t, without, kustomizev1.ReconciliationFailedReason, ns+"-absent")

	target := ns + "-created"
	k := newKustomization(ns, "app", "./app", func(k *kustomizev1.Kustomization) {
		k.Spec.TargetNamespace = target
		k.Spec.CreateNamespace = true
	})
	g.Expect(env.Client.Create(ctx, k)).To(Succeed())
	t.Cleanup(func() { _ = env.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: target}}) })
	waitApplied(t, k, "main@sha1:1")
	created := &corev1.Namespace{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Name: target}, created)).To(Succeed())
	g.Expect(created.Labels).To(HaveKeyWithValue(kustomizev1.NameLabel, "app"))
	g.Expect(created.Labels).To(HaveKeyWithValue(kustomizev1.NamespaceLabel, ns))
	_, err := getConfigMap(target, "cm")
	g.Expect(err).NotTo(HaveOccurred())
}

// TestEmptyBuildGuard checks that a build that suddenly produces nothing
// prunes nothing and fails with EmptyBuild, and that allowEmpty lets it
// prune everything.
func TestEmptyBuildGuard(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	publish(t, ns, "repo", "main@sha1:1", map[string]string{"app/a.yaml": configMap("a", "v1"), "app/b.yaml": configMap("b", "v1")})
	k := newKustomization(ns, "app", "./app", func(k *kustomizev1.Kustomization) { k.Spec.TargetNamespace = ns })
	g.Expect(env.Client.Create(ctx, k)).To(Succeed())
	waitApplied(t, k, "main@sha1:1")

	empty := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n"
	publish(t, ns, "repo", "main@sha1:2", map[string]string{"app/kustomization.yaml": empty})
	got := waitFailed(t, k, kustomizev1.EmptyBuildReason, "main@sha1:2", "produced no objects", "spec.allowEmpty")
	g.Expect(got.Status.Inventory.Entries).To(HaveLen(2))
	for _, name := range []string{"a", "b"} {
		_, err := getConfigMap(ns, name)
		g.Expect(err).NotTo(HaveOccurred(), "the guard must not prune %s", name)
	}

	g.Eventually(func() error {
		cur := &kustomizev1.Kustomization{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(k), cur); err != nil {
			return err
		}
		cur.Spec.AllowEmpty = true
		return env.Client.Update(ctx, cur)
	}, timeout).Should(Succeed())
	got = waitApplied(t, k, "main@sha1:2")
	g.Expect(got.Status.Inventory.Entries).To(BeEmpty())
	for _, name := range []string{"a", "b"} {
		g.Eventually(func() bool {
			_, err := getConfigMap(ns, name)
			return apierrors.IsNotFound(err)
		}, timeout).Should(BeTrue(), "allowEmpty prunes %s", name)
	}
}

// deployment is a one-replica Deployment whose Pods go to nodes of the
// given type (kwok: the cluster's simulated node; another: none).
func deployment(name, nodeType string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %s
spec:
  replicas: 1
  selector:
    matchLabels: {app: %s}
  template:
    metadata:
      labels: {app: %s}
    spec:
      nodeSelector: {type: %s}
      containers:
        - name: app
          image: app:1
`, name, name, name, nodeType)
}

// deploymentTimeline watches the Deployments of ns from the API server and
// records when each first became Available and when each was deleted (its
// deletionTimestamp set or the object gone).
type deploymentTimeline struct {
	mu        sync.Mutex
	available map[string]time.Time
	deleted   map[string]time.Time
}

func watchDeployments(t *testing.T, ns string) *deploymentTimeline {
	t.Helper()
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	w, err := wc.Watch(context.Background(), &appsv1.DeploymentList{}, client.InNamespace(ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	tl := &deploymentTimeline{available: map[string]time.Time{}, deleted: map[string]time.Time{}}
	go func() {
		for ev := range w.ResultChan() {
			d, ok := ev.Object.(*appsv1.Deployment)
			if !ok {
				continue
			}
			now := time.Now()
			tl.mu.Lock()
			if _, seen := tl.available[d.Name]; !seen && d.Status.AvailableReplicas > 0 {
				tl.available[d.Name] = now
			}
			if _, seen := tl.deleted[d.Name]; !seen && (ev.Type == watch.Deleted || d.DeletionTimestamp != nil) {
				tl.deleted[d.Name] = now
			}
			tl.mu.Unlock()
		}
	}()
	return tl
}

func (tl *deploymentTimeline) times(name string) (available, deleted time.Time) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return tl.available[name], tl.deleted[name]
}

// TestPruneLast observes from the API server that, with pruneLast, the
// Deployment a new revision drops is deleted only after the one replacing
// it is Available; without it the prune comes first.
func TestPruneLast(t *testing.T) {
	t.Parallel()
	for _, pruneLast := range []bool{true, false} {
		t.Run(fmt.Sprintf("pruneLast=%v", pruneLast), func(t *testing.T) {
			g := NewWithT(t)
			ctx := context.Background()
			ns := newNamespace(t)
			publish(t, ns, "repo", "main@sha1:1", map[string]string{"app/old.yaml": deployment("old", "kwok")})
			k := newKustomization(ns, "app", "./app", func(k *kustomizev1.Kustomization) {
				k.Spec.TargetNamespace = ns
				k.Spec.PruneLast = pruneLast
			})
			g.Expect(env.Client.Create(ctx, k)).To(Succeed())
			waitApplied(t, k, "main@sha1:1")

			tl := watchDeployments(t, ns)
			publish(t, ns, "repo", "main@sha1:2", map[string]string{"app/new.yaml": deployment("new", "kwok")})
			waitApplied(t, k, "main@sha1:2")
			var available, deleted time.Time
			g.Eventually(func(g Gomega) {
				available, _ = tl.times("new")
				_, deleted = tl.times("old")
				g.Expect(available.IsZero()).To(BeFalse())
				g.Expect(deleted.IsZero()).To(BeFalse())
			}, timeout, 50*time.Millisecond).Should(Succeed())
			if pruneLast {
				g.Expect(deleted).To(BeTemporally(">=", available), "old must outlive the start of new")
			} else {
				g.Expect(deleted).To(BeTemporally("<", available), "without pruneLast the prune does not wait")
			}
		})
	}
}
