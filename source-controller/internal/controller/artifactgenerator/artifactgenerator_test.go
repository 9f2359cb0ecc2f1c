package artifactgenerator

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	sourceextv1 "github.com/ferrycd/ferry/pkg/apis/sourceext/v1beta1"
	"github.com/ferrycd/ferry/test/suite"
)

const timeout = 30 * time.Second

func newGitRepository(t *testing.T, ns, name, repo string) *sourcev1.GitRepository {
	t.Helper()
	obj := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: sourcev1.GitRepositorySpec{
			URL:       gitSrv.URL(repo),
			Interval:  metav1.Duration{Duration: time.Hour},
			Reference: &sourcev1.GitRepositoryRef{Branch: "main"},
		},
	}
	NewWithT(t).Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	return obj
}

// copyRule is one copy operation, written as a test reads best.
func copyRule(from, to string, exclude ...string) sourceextv1.CopyOperation {
	return sourceextv1.CopyOperation{From: from, To: to, Exclude: exclude}
}

func newGenerator(ns, name string, sources []sourceextv1.SourceReference, artifacts ...sourceextv1.OutputArtifact) *sourceextv1.ArtifactGenerator {
	return &sourceextv1.ArtifactGenerator{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       sourceextv1.ArtifactGeneratorSpec{Sources: sources, OutputArtifacts: artifacts},
	}
}

// waitReady waits until the generator is Ready for its current generation
// and returns it.
func waitReady(t *testing.T, obj *sourceextv1.ArtifactGenerator) *sourceextv1.ArtifactGenerator {
	t.Helper()
	got := &sourceextv1.ArtifactGenerator{}
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got)).To(Succeed())
		ready := conditions.Get(got, fluxmeta.ReadyCondition)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), ready.Message)
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
	}, timeout, 50*time.Millisecond).Should(Succeed())
	return got
}

// getEA returns the ExternalArtifact ns/name.
func getEA(g Gomega, ns, name string) *sourcev1.ExternalArtifact {
	ea := &sourcev1.ExternalArtifact{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, ea)).To(Succeed())
	return ea
}

// files downloads an artifact as a consumer does (digest checked) and
// returns the files it holds.
func files(g Gomega, a *fluxmeta.Artifact) map[string]string {
	gz, err := gzip.NewReader(bytes.NewReader(suite.DownloadG(g, a)))
	g.Expect(err).NotTo(HaveOccurred())
	tr := tar.NewReader(gz)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		g.Expect(err).NotTo(HaveOccurred())
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			g.Expect(err).NotTo(HaveOccurred())
			out[h.Name] = string(b)
		}
	}
}

// TestMonorepoSplitRegeneratesOnlyChangedArtifacts splits one GitRepository
// into a frontend and a backend artifact. A commit that touches only the
// frontend gives the frontend a new artifact and leaves the backend's
// status.artifact exactly as it was, so its consumers have nothing to apply.
func TestMonorepoSplitRegeneratesOnlyChangedArtifacts(t *testing.T) {
	g := NewWithT(t)
	ns := suite.NewNamespace(t, env.Client, "ag-")
	repo := ns + "/mono.git"
	first, err := gitSrv.Commit(repo, "main", "first", map[string]string{
		"deploy/frontend/app.yaml": "frontend: v1", "deploy/frontend/README.md": "docs",
		"deploy/backend/app.yaml": "backend: v1", "README.md": "root",
	})
	g.Expect(err).NotTo(HaveOccurred())
	git := newGitRepository(t, ns, "mono", repo)

	gen := newGenerator(ns, "apps",
		[]sourceextv1.SourceReference{{Alias: "repo", Kind: sourcev1.GitRepositoryKind, Name: "mono"}},
		sourceextv1.OutputArtifact{Name: "frontend", OriginRevision: "@repo",
			Copy: []sourceextv1.CopyOperation{copyRule("@repo/deploy/frontend/**", "@artifact/", "*.md")}},
		sourceextv1.OutputArtifact{Name: "backend", OriginRevision: "@repo",
			Copy: []sourceextv1.CopyOperation{copyRule("@repo/deploy/backend/", "@artifact/")}},
	)
	g.Expect(env.Client.Create(context.Background(), gen)).To(Succeed())
	got := waitReady(t, gen)
	g.Expect(got.Status.Inventory).To(HaveLen(2))
	g.Expect(got.Status.ObservedSourcesDigest).To(HavePrefix("sha256:"))
	g.Expect(got.Finalizers).To(ContainElement(sourceextv1.Finalizer))

	frontend, backend := getEA(g, ns, "frontend"), getEA(g, ns, "backend")
	for _, ea := range []*sourcev1.ExternalArtifact{frontend, backend} {
		g.Expect(conditions.IsReady(ea)).To(BeTrue())
		g.Expect(metav1.IsControlledBy(ea, got)).To(BeTrue(), "owned by the generator")
		g.Expect(ea.Spec.SourceRef).To(Equal(&fluxmeta.NamespacedObjectKindReference{
			APIVersion: sourceextv1.GroupVersion.String(), Kind: sourceextv1.ArtifactGeneratorKind, Name: "apps", Namespace: ns,
		}))
		a := ea.Status.Artifact
		g.Expect(a.Revision).To(Equal("latest@" + a.Digest))
		g.Expect(a.Metadata).To(HaveKeyWithValue(sourceextv1.OriginRevisionKey, "main@sha1:"+first))
	}
	g.Expect(files(g, frontend.Status.Artifact)).To(Equal(map[string]string{"app.yaml": "frontend: v1"}))
	g.Expect(files(g, backend.Status.Artifact)).To(Equal(map[string]string{"backend/app.yaml": "backend: v1"}))

	second, err := gitSrv.Commit(repo, "main", "frontend only", map[string]string{"deploy/frontend/app.yaml": "frontend: v2"})
	g.Expect(err).NotTo(HaveOccurred())
	suite.RequestReconcile(t, env.Client, git, timeout)
	g.Eventually(func(g Gomega) {
		cur := &sourceextv1.ArtifactGenerator{}
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(gen), cur)).To(Succeed())
		g.Expect(cur.Status.ObservedSourcesDigest).NotTo(Equal(got.Status.ObservedSourcesDigest))
		g.Expect(conditions.IsReady(cur)).To(BeTrue())
	}, timeout, 50*time.Millisecond).Should(Succeed(), "the new commit did not reach the generator")

	newFrontend, sameBackend := getEA(g, ns, "frontend"), getEA(g, ns, "backend")
	g.Expect(newFrontend.Status.Artifact.Digest).NotTo(Equal(frontend.Status.Artifact.Digest))
	g.Expect(newFrontend.Status.Artifact.Metadata).To(HaveKeyWithValue(sourceextv1.OriginRevisionKey, "main@sha1:"+second))
	g.Expect(files(g, newFrontend.Status.Artifact)).To(Equal(map[string]string{"app.yaml": "frontend: v2"}))
	g.Expect(sameBackend.Status.Artifact).To(Equal(backend.Status.Artifact),
		"the backend's content did not change, so neither may its artifact")
	g.Expect(sameBackend.ResourceVersion).To(Equal(backend.ResourceVersion), "the backend ExternalArtifact was written")
}

// TestArtifactsLeavingTheSpecAndDeletionCleanUp proves garbage collection: an
// artifact removed from the spec loses its ExternalArtifact and its stored
// files, and deleting the generator removes the rest.
func TestArtifactsLeavingTheSpecAndDeletionCleanUp(t *testing.T) {
	g := NewWithT(t)
	ns := suite.NewNamespace(t, env.Client, "ag-")
	repo := ns + "/app.git"
	_, err := gitSrv.Commit(repo, "main", "first", map[string]string{"a/a.yaml": "a", "b/b.yaml": "b"})
	g.Expect(err).NotTo(HaveOccurred())
	newGitRepository(t, ns, "app", repo)
	gen := newGenerator(ns, "split",
		[]sourceextv1.SourceReference{{Alias: "src", Kind: sourcev1.GitRepositoryKind, Name: "app"}},
		sourceextv1.OutputArtifact{Name: "a", Copy: []sourceextv1.CopyOperation{copyRule("@src/a/*.yaml", "@artifact/")}},
		sourceextv1.OutputArtifact{Name: "b", Copy: []sourceextv1.CopyOperation{copyRule("@src/b/b.yaml", "@artifact/b.yaml")}},
	)
	g.Expect(env.Client.Create(context.Background(), gen)).To(Succeed())
	got := waitReady(t, gen)
	storedDir := func(name string) string {
		return filepath.Join(store.BasePath(), "externalartifact", ns, name)
	}
	g.Expect(storedDir("b")).To(BeADirectory())

	g.Eventually(func() error {
		cur := &sourceextv1.ArtifactGenerator{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(gen), cur); err != nil {
			return err
		}
		cur.Spec.OutputArtifacts = cur.Spec.OutputArtifacts[:1]
		return env.Client.Update(context.Background(), cur)
	}, timeout, 50*time.Millisecond).Should(Succeed())
	got = waitReady(t, got) // of the new generation
	g.Expect(got.Status.Inventory).To(ConsistOf(HaveField("Name", "a")))
	err = env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "b"}, &sourcev1.ExternalArtifact{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the ExternalArtifact that left the spec was not deleted")
	_, err = os.Stat(storedDir("b"))
	g.Expect(os.IsNotExist(err)).To(BeTrue(), "the stored files of the artifact that left the spec remain")

	g.Expect(env.Client.Delete(context.Background(), got)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(context.Background(), client.ObjectKeyFromObject(gen), got))
	}, timeout, 50*time.Millisecond).Should(BeTrue())
	err = env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "a"}, &sourcev1.ExternalArtifact{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the finalizer left an ExternalArtifact")
	_, err = os.Stat(storedDir("a"))
	g.Expect(os.IsNotExist(err)).To(BeTrue(), "the finalizer left stored files")
}

// TestCompositionWaitsForSourcesAndRejectsBadSpecs composes one artifact from
// two GitRepositories, one of which appears only after the generator: the
// generator waits and becomes Ready once it has an artifact. A copy from an
// undeclared alias stalls, and an ExternalArtifact the generator does not
// own is never taken over.
func TestCompositionWaitsForSourcesAndRejectsBadSpecs(t *testing.T) {
	g := NewWithT(t)
	ns := suite.NewNamespace(t, env.Client, "ag-")
	appHead, err := gitSrv.Commit(ns+"/app.git", "main", "app", map[string]string{"deploy/app.yaml": "app"})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = gitSrv.Commit(ns+"/cfg.git", "main", "cfg", map[string]string{"envs/prod/values.yaml": "prod"})
	g.Expect(err).NotTo(HaveOccurred())
	newGitRepository(t, ns, "app", ns+"/app.git")

	gen := newGenerator(ns, "composite",
		[]sourceextv1.SourceReference{
			{Alias: "app", Kind: sourcev1.GitRepositoryKind, Name: "app"},
			{Alias: "cfg", Kind: sourcev1.GitRepositoryKind, Name: "cfg"},
		},
		sourceextv1.OutputArtifact{Name: "composite", Revision: "@app", Copy: []sourceextv1.CopyOperation{
			copyRule("@app/deploy/**", "@artifact/app/"),
			copyRule("@cfg/envs/prod/values.yaml", "@artifact/app/values.yaml"),
		}},
	)
	g.Expect(env.Client.Create(context.Background(), gen)).To(Succeed())
	g.Eventually(func(g Gomega) {
		cur := &sourceextv1.ArtifactGenerator{}
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(gen), cur)).To(Succeed())
		ready := conditions.Get(cur, fluxmeta.ReadyCondition)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Reason).To(Equal(sourceextv1.SourceFetchFailedReason))
		g.Expect(ready.Message).To(ContainSubstring("source 'cfg'"))
	}, timeout, 50*time.Millisecond).Should(Succeed())

	newGitRepository(t, ns, "cfg", ns+"/cfg.git")
	got := waitReady(t, gen)
	ea := getEA(g, ns, "composite")
	g.Expect(ea.Status.Artifact.Revision).To(Equal("main@sha1:"+appHead), "revision: @app uses the app source's revision")
	g.Expect(files(g, ea.Status.Artifact)).To(Equal(map[string]string{"app/app.yaml": "app", "app/values.yaml": "prod"}))

	t.Run("copy from an undeclared alias stalls", func(t *testing.T) {
		g := NewWithT(t)
		bad := newGenerator(ns, "bad",
			[]sourceextv1.SourceReference{{Alias: "app", Kind: sourcev1.GitRepositoryKind, Name: "app"}},
			sourceextv1.OutputArtifact{Name: "bad", Copy: []sourceextv1.CopyOperation{copyRule("@nope/x", "@artifact/")}})
		g.Expect(env.Client.Create(context.Background(), bad)).To(Succeed())
		g.Eventually(func(g Gomega) {
			g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(bad), bad)).To(Succeed())
			g.Expect(conditions.IsStalled(bad)).To(BeTrue())
			g.Expect(conditions.GetReason(bad, fluxmeta.ReadyCondition)).To(Equal(sourceextv1.ValidationFailedReason))
		}, timeout, 50*time.Millisecond).Should(Succeed())
	})

	t.Run("an ExternalArtifact owned by another generator is not taken over", func(t *testing.T) {
		g := NewWithT(t)
		thief := newGenerator(ns, "thief",
			[]sourceextv1.SourceReference{{Alias: "app", Kind: sourcev1.GitRepositoryKind, Name: "app"}},
			sourceextv1.OutputArtifact{Name: "composite", Copy: []sourceextv1.CopyOperation{copyRule("@app/", "@artifact/")}})
		g.Expect(env.Client.Create(context.Background(), thief)).To(Succeed())
		g.Eventually(func(g Gomega) {
			g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(thief), thief)).To(Succeed())
			g.Expect(conditions.GetMessage(thief, fluxmeta.ReadyCondition)).To(ContainSubstring("not owned by this ArtifactGenerator"))
		}, timeout, 50*time.Millisecond).Should(Succeed())
		g.Expect(env.Client.Delete(context.Background(), thief)).To(Succeed())
		g.Eventually(func() bool {
			return apierrors.IsNotFound(env.Client.Get(context.Background(), client.ObjectKeyFromObject(thief), thief))
		}, timeout, 50*time.Millisecond).Should(BeTrue())
		still := getEA(g, ns, "composite")
		g.Expect(metav1.IsControlledBy(still, got)).To(BeTrue())
		g.Expect(still.Status.Artifact).To(Equal(ea.Status.Artifact), "deleting the other generator touched it")
	})
}

// TestExternalArtifactAsSource chains two generators: the second reads the
// first one's ExternalArtifact like any other source and follows it when it
// changes.
func TestExternalArtifactAsSource(t *testing.T) {
	g := NewWithT(t)
	ns := suite.NewNamespace(t, env.Client, "ag-")
	repo := ns + "/app.git"
	_, err := gitSrv.Commit(repo, "main", "first", map[string]string{"base/cm.yaml": "v1"})
	g.Expect(err).NotTo(HaveOccurred())
	git := newGitRepository(t, ns, "app", repo)
	first := newGenerator(ns, "first",
		[]sourceextv1.SourceReference{{Alias: "git", Kind: sourcev1.GitRepositoryKind, Name: "app"}},
		sourceextv1.OutputArtifact{Name: "base", Copy: []sourceextv1.CopyOperation{copyRule("@git/base/**", "@artifact/")}})
	second := newGenerator(ns, "second",
		[]sourceextv1.SourceReference{{Alias: "base", Kind: sourcev1.ExternalArtifactKind, Name: "base"}},
		sourceextv1.OutputArtifact{Name: "nested", Copy: []sourceextv1.CopyOperation{copyRule("@base/**", "@artifact/nested/")}})
	g.Expect(env.Client.Create(context.Background(), first)).To(Succeed())
	g.Expect(env.Client.Create(context.Background(), second)).To(Succeed())
	waitReady(t, second)
	g.Expect(files(g, getEA(g, ns, "nested").Status.Artifact)).To(Equal(map[string]string{"nested/cm.yaml": "v1"}))

	_, err = gitSrv.Commit(repo, "main", "second", map[string]string{"base/cm.yaml": "v2"})
	g.Expect(err).NotTo(HaveOccurred())
	suite.RequestReconcile(t, env.Client, git, timeout)
	g.Eventually(func(g Gomega) {
		g.Expect(files(g, getEA(g, ns, "nested").Status.Artifact)).To(Equal(map[string]string{"nested/cm.yaml": "v2"}))
	}, timeout, 100*time.Millisecond).Should(Succeed())
}
