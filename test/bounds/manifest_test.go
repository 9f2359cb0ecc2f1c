package bounds

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
)

// bigManifest is the size of the oversized manifest: 50 MiB.
const bigManifest = 50 << 20

// writeConfigMaps streams ConfigMaps of about 1 KiB each until size bytes
// are written, the way a generated manifest of a large app looks.
func writeConfigMaps(out io.Writer, prefix string, size int64) error {
	value := strings.Repeat("x", 900)
	var n int64
	for i := 0; n < size; i++ {
		m, err := fmt.Fprintf(out, "---\n%s", configMap(fmt.Sprintf("%s-%06d", prefix, i), value))
		if err != nil {
			return err
		}
		n += int64(m)
	}
	return nil
}

var reaches = regexp.MustCompile(`reaches (\d+) bytes`)

// TestManifestOf50MiB: a revision that adds a 50 MiB manifest is refused
// by the build size limit (--max-build-size, 32 MiB) before kustomize
// parses it, with a Ready=False condition and an event naming the file,
// the size and the limit. Nothing of the revision is applied and nothing
// is pruned, although it also deletes a file the last good revision
// applied; the next good revision applies as usual.
func TestManifestOf50MiB(t *testing.T) {
	measure(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)

	w := newWorkTree(t, ns+"/app.git")
	w.write("app/a.yaml", configMap("a", "1"))
	w.write("app/b.yaml", configMap("b", "1"))
	good := w.commit("good")

	repo := gitRepository(ns, "app", w.url())
	g.Expect(testCluster.Client.Create(ctx, repo)).To(Succeed())
	ks := kustomization(ns, "app", "app", "./app")
	g.Expect(testCluster.Client.Create(ctx, ks)).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := ready(g, ks)
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
		g.Expect(ks.Status.LastAppliedRevision).To(Equal(good))
	}, timeout, 500*time.Millisecond).Should(Succeed())
	g.Expect(ownedConfigMaps(g, ns, "app")).To(ConsistOf("a", "b"))

	// The bad revision drops b.yaml: applying it would prune ConfigMap b.
	w.remove("app/b.yaml")
	w.stream("app/big.yaml", func(out io.Writer) error { return writeConfigMaps(out, "big", bigManifest) })
	bad := w.commit("a 50 MiB manifest")
	requestReconcile(t, repo)
	g.Eventually(func(g Gomega) {
		c := ready(g, repo)
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
		g.Expect(repo.Status.Artifact.Revision).To(Equal(bad))
	}, timeout, 500*time.Millisecond).Should(Succeed())
	t.Logf("artifact with the 50 MiB manifest: %d bytes", *repo.Status.Artifact.Size)

	const limit = "more than the limit of 33554432 bytes per build"
	g.Eventually(func(g Gomega) {
		c := ready(g, ks)
		g.Expect(ks.Status.LastAttemptedRevision).To(Equal(bad))
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(kustomizev1.BuildFailedReason))
		g.Expect(c.Message).To(ContainSubstring("'app/big.yaml'"))
		g.Expect(c.Message).To(ContainSubstring(limit))
		g.Expect(c.Message).To(ContainSubstring("--max-build-size"))
		m := reaches.FindStringSubmatch(c.Message)
		g.Expect(m).NotTo(BeNil(), c.Message)
		size, _ := strconv.ParseInt(m[1], 10, 64)
		g.Expect(size).To(BeNumerically(">=", int64(bigManifest)), "the size named is the input's")
		g.Expect(apimeta.IsStatusConditionTrue(ks.GetConditions(), fluxmeta.StalledCondition)).To(BeTrue())
	}, timeout, 500*time.Millisecond).Should(Succeed())
	warningEvent(t, ks, kustomizev1.BuildFailedReason, "'app/big.yaml'", limit)

	// Nothing applied, nothing pruned: the cluster and the inventory are
	// the good revision's.
	g.Expect(ks.Status.LastAppliedRevision).To(Equal(good))
	g.Expect(ks.Status.Inventory.Entries).To(HaveLen(2))
	g.Expect(ownedConfigMaps(g, ns, "app")).To(ConsistOf("a", "b"))

	// A good revision after it applies, and only now is b pruned.
	w.remove("app/big.yaml")
	fixed := w.commit("without the big manifest")
	requestReconcile(t, repo)
	g.Eventually(func(g Gomega) {
		c := ready(g, ks)
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
		g.Expect(ks.Status.LastAppliedRevision).To(Equal(fixed))
		g.Expect(ownedConfigMaps(g, ns, "app")).To(ConsistOf("a"))
	}, timeout, 500*time.Millisecond).Should(Succeed())
}
