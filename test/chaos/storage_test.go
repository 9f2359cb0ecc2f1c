package chaos

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/chaos/workload"
)

// TestSourceStorageEmptied kills the source-controller, empties its
// storage directory (a pod rescheduled onto a fresh emptyDir) and starts
// it again: every artifact must be published again, served with the digest
// its status names, and the consumers, asked to reconcile, must find
// nothing to do: no applied object written, no release upgraded.
func TestSourceStorageEmptied(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	objects, err := objectVersions(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	releases, err := releaseVersions(ctx)
	g.Expect(err).NotTo(HaveOccurred())

	fleet.kill("source-controller")
	g.Expect(os.RemoveAll(fleet.storage())).To(Succeed())
	start := time.Now()
	g.Expect(fleet.start("source-controller")).To(Succeed())
	var sources int
	g.Eventually(func(g Gomega) {
		artifacts, err := sourceArtifacts(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		sources = len(artifacts)
		for name, a := range artifacts {
			g.Expect(a).NotTo(BeNil(), "%s has no artifact", name)
			data, err := os.ReadFile(filepath.Join(fleet.storage(), a.Path))
			g.Expect(err).NotTo(HaveOccurred(), "%s: the artifact should be back in storage", name)
			g.Expect(fmt.Sprintf("sha256:%x", sha256.Sum256(data))).To(Equal(a.Digest), name)
			served, err := download(a.URL)
			g.Expect(err).NotTo(HaveOccurred(), name)
			g.Expect(served).To(Equal(data), "%s: the server should serve what storage holds", name)
		}
	}, convergeTimeout, 200*time.Millisecond).Should(Succeed())
	republished := time.Since(start)

	g.Expect(requestAll(ctx)).To(Succeed())
	after, err := objectVersions(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	written := 0
	for name, rv := range after {
		if objects[name] != rv {
			written++
			t.Errorf("%s was written again (%s, was %s)", name, rv, objects[name])
		}
	}
	upgradedNow, err := releaseVersions(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(upgradedNow).To(Equal(releases), "no release may be upgraded for a re-published artifact")
	finish(t, "source-controller restarted with empty storage", start,
		fmt.Sprintf("%d artifacts re-published in %s; %d of %d applied objects written again, %d releases upgraded",
			sources, republished.Round(100*time.Millisecond), written, len(after), countChanged(releases, upgradedNow)))
}

// TestCorruptArtifactRefused publishes a revision while the
// kustomize-controller is down, corrupts the artifact's bytes in storage
// and starts the controller: every Kustomization must refuse the artifact,
// say so in its Ready condition and apply nothing. A new commit (a fresh,
// sound artifact) then converges.
func TestCorruptArtifactRefused(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	before := wl.Head()
	objects, err := objectVersions(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	fleet.kill("kustomize-controller")
	head, err := wl.Commit(ctx, workload.Change{Apply: true, Prune: true})
	g.Expect(err).NotTo(HaveOccurred())
	src := &sourcev1.GitRepository{}
	g.Eventually(func(g Gomega) {
		g.Expect(testCluster.Client.Get(ctx, client.ObjectKey{Namespace: wl.Namespace(), Name: workload.GitRepositoryName}, src)).To(Succeed())
		g.Expect(src.Status.Artifact).NotTo(BeNil())
		g.Expect(src.Status.Artifact.Revision).To(Equal(head))
	}, convergeTimeout, 100*time.Millisecond).Should(Succeed())
	g.Expect(corrupt(filepath.Join(fleet.storage(), src.Status.Artifact.Path))).To(Succeed())
	g.Expect(fleet.start("kustomize-controller")).To(Succeed())

	var message string
	g.Eventually(func(g Gomega) {
		var list kustomizev1.KustomizationList
		g.Expect(testCluster.Client.List(ctx, &list, client.InNamespace(wl.Namespace()))).To(Succeed())
		for _, k := range list.Items {
			g.Expect(k.Status.LastAttemptedRevision).To(Equal(head), k.Name)
			g.Expect(conditions.IsFalse(&k, fluxmeta.ReadyCondition)).To(BeTrue(), k.Name)
			message = conditions.GetMessage(&k, fluxmeta.ReadyCondition)
			g.Expect(message).To(ContainSubstring("expected digest "+src.Status.Artifact.Digest), k.Name)
			g.Expect(k.Status.LastAppliedRevision).To(Equal(before), k.Name)
		}
	}, convergeTimeout, 200*time.Millisecond).Should(Succeed(), "every Kustomization should refuse the corrupt artifact")
	after, err := objectVersions(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(after).To(Equal(objects), "nothing may be applied or pruned from a corrupt artifact")
	r, err := wl.Check(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(r.WrongPrunes).To(BeZero(), "%v", r.Problems)

	start := time.Now()
	_, err = wl.Commit(ctx, workload.Change{})
	g.Expect(err).NotTo(HaveOccurred())
	finish(t, "artifact corrupted in storage", start, fmt.Sprintf("refused with %q; nothing applied; a new commit converged", message))
}

// objectVersions tells, for every applied object in the workload's
// namespace, whether it was written again: a ConfigMap's resourceVersion,
// and for a HelmRelease (whose resourceVersion moves with every status
// write and reconcile request) the time of the kustomize-controller's apply
// in its managedFields.
func objectVersions(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	var cms corev1.ConfigMapList
	if err := testCluster.Client.List(ctx, &cms, client.InNamespace(wl.Namespace())); err != nil {
		return nil, err
	}
	for _, cm := range cms.Items {
		out["ConfigMap/"+cm.Name] = cm.ResourceVersion
	}
	var hrs helmv2.HelmReleaseList
	if err := testCluster.Client.List(ctx, &hrs, client.InNamespace(wl.Namespace())); err != nil {
		return nil, err
	}
	for _, hr := range hrs.Items {
		out["HelmRelease/"+hr.Name] = "no apply by kustomize-controller"
		for _, f := range hr.ManagedFields {
			if f.Manager == "kustomize-controller" && f.Operation == "Apply" && f.Subresource == "" && f.Time != nil {
				out["HelmRelease/"+hr.Name] = "applied at " + f.Time.UTC().Format(time.RFC3339)
			}
		}
	}
	return out, nil
}

// sourceArtifacts is every source's artifact by kind and name.
func sourceArtifacts(ctx context.Context) (map[string]*fluxmeta.Artifact, error) {
	out := map[string]*fluxmeta.Artifact{}
	var gits sourcev1.GitRepositoryList
	if err := testCluster.Client.List(ctx, &gits, client.InNamespace(wl.Namespace())); err != nil {
		return nil, err
	}
	for _, s := range gits.Items {
		out["GitRepository/"+s.Name] = s.Status.Artifact
	}
	var repos sourcev1.HelmRepositoryList
	if err := testCluster.Client.List(ctx, &repos, client.InNamespace(wl.Namespace())); err != nil {
		return nil, err
	}
	for _, s := range repos.Items {
		out["HelmRepository/"+s.Name] = s.Status.Artifact
	}
	var charts sourcev1.HelmChartList
	if err := testCluster.Client.List(ctx, &charts, client.InNamespace(wl.Namespace())); err != nil {
		return nil, err
	}
	for _, s := range charts.Items {
		out["HelmChart/"+s.Name] = s.Status.Artifact
	}
	return out, nil
}

// requestAll asks every Kustomization and HelmRelease to reconcile, as
// `flux reconcile` does, and waits until each has handled the request and
// is Ready.
func requestAll(ctx context.Context) error {
	var objs []client.Object
	for _, name := range wl.KustomizationNames() {
		k := &kustomizev1.Kustomization{}
		k.Name, k.Namespace = name, wl.Namespace()
		objs = append(objs, k)
	}
	var hrs helmv2.HelmReleaseList
	if err := testCluster.Client.List(ctx, &hrs, client.InNamespace(wl.Namespace())); err != nil {
		return err
	}
	for i := range hrs.Items {
		objs = append(objs, &hrs.Items[i])
	}
	tokens := map[client.Object]string{}
	for _, o := range objs {
		token, err := workload.RequestReconcile(ctx, testCluster.Client, o)
		if err != nil {
			return err
		}
		tokens[o] = token
	}
	deadline := time.Now().Add(convergeTimeout)
	for o, token := range tokens {
		for {
			if err := testCluster.Client.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
				return err
			}
			if handled(o) == token && conditions.IsReady(o.(conditions.Getter)) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s did not handle the reconcile request %s", o.GetName(), token)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

func handled(o client.Object) string {
	switch v := o.(type) {
	case *kustomizev1.Kustomization:
		return v.Status.LastHandledReconcileAt
	case *helmv2.HelmRelease:
		return v.Status.LastHandledReconcileAt
	}
	return ""
}

// corrupt flips bytes in the middle of the file, keeping its size, as a bad
// disk or a tampered volume would.
func corrupt(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for i := len(data) / 2; i < len(data)/2+16 && i < len(data); i++ {
		data[i] ^= 0xff
	}
	return os.WriteFile(path, data, 0o644)
}

func download(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

func countChanged(before, after map[string]int) int {
	n := 0
	for k, v := range after {
		if before[k] != v {
			n++
		}
	}
	return n
}
