package bounds

import (
	"context"
	"fmt"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
)

// manyFiles is the file count of the big repository.
const manyFiles = 10000

// TestRepositoryOf10000Files: a repository of 10,000 files is within the
// limits (there is no file-count limit: the source-controller archives and
// the consumers extract file by file, so their memory does not grow with
// the count, and the size caps bound the rest). The GitRepository serves
// it, a Kustomization of one small directory of it applies, and a
// Kustomization of the directory holding 10,000 ConfigMaps is refused by
// the object limit (--max-build-objects, 5,000) with nothing applied, at
// once rather than after the many minutes kustomize takes to build them.
func TestRepositoryOf10000Files(t *testing.T) {
	measure(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)

	w := newWorkTree(t, ns+"/many.git")
	w.write("app/settings.yaml", configMap("settings", "small"))
	for i := range manyFiles {
		w.write(fmt.Sprintf("many/%03d/cm-%05d.yaml", i/100, i), configMap(fmt.Sprintf("cm-%05d", i), "one of many"))
	}
	revision := w.commit("10,000 files")

	repo := gitRepository(ns, "many", w.url())
	g.Expect(testCluster.Client.Create(ctx, repo)).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := ready(g, repo)
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
		g.Expect(repo.Status.Artifact.Revision).To(Equal(revision))
	}, timeout, 500*time.Millisecond).Should(Succeed())
	t.Logf("artifact of %d files: %d bytes", manyFiles+1, *repo.Status.Artifact.Size)

	app := kustomization(ns, "app", "many", "./app")
	g.Expect(testCluster.Client.Create(ctx, app)).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := ready(g, app)
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
		g.Expect(app.Status.LastAppliedRevision).To(Equal(revision))
		g.Expect(ownedConfigMaps(g, ns, "app")).To(ConsistOf("settings"))
	}, timeout, 500*time.Millisecond).Should(Succeed())

	all := kustomization(ns, "all", "many", "./many")
	g.Expect(testCluster.Client.Create(ctx, all)).To(Succeed())
	// The objects are counted as the files are read, so the build stops at
	// the 5,001st: kustomize's time grows with the square of the objects.
	const want = "the build has at least 5001 objects, more than the limit of 5000 objects per build"
	g.Eventually(func(g Gomega) {
		c := ready(g, all)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(kustomizev1.BuildFailedReason))
		g.Expect(c.Message).To(ContainSubstring(want))
		g.Expect(c.Message).To(ContainSubstring("--max-build-objects"))
		g.Expect(all.Status.LastAttemptedRevision).To(Equal(revision))
		g.Expect(apimeta.IsStatusConditionTrue(all.GetConditions(), fluxmeta.StalledCondition)).To(BeTrue(), "a refused build stalls")
	}, timeout, 500*time.Millisecond).Should(Succeed())
	warningEvent(t, all, kustomizev1.BuildFailedReason, want)
	g.Expect(all.Status.Inventory == nil || len(all.Status.Inventory.Entries) == 0).To(BeTrue())
	g.Expect(ownedConfigMaps(g, ns, "all")).To(BeEmpty())
}
