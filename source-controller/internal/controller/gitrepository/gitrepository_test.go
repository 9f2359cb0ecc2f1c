package gitrepository

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/suite"
)

const timeout = 30 * time.Second

func newNamespace(t *testing.T) string {
	t.Helper()
	return suite.NewNamespace(t, env.Client, "gitrepo-")
}

func newGitRepository(ns, name, url string, mutate ...func(*sourcev1.GitRepository)) *sourcev1.GitRepository {
	obj := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: sourcev1.GitRepositorySpec{
			URL:       url,
			Interval:  metav1.Duration{Duration: time.Hour},
			Reference: &sourcev1.GitRepositoryRef{Branch: "main"},
		},
	}
	for _, m := range mutate {
		m(obj)
	}
	return obj
}

// waitFor waits until the object's Ready condition has status (and, for
// True, observedGeneration is current) and, when
// revision is non-empty, the artifact has that revision; it returns the
// latest object.
func waitFor(t *testing.T, obj *sourcev1.GitRepository, status metav1.ConditionStatus, revision string) *sourcev1.GitRepository {
	t.Helper()
	got := &sourcev1.GitRepository{}
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got)).To(Succeed())
		ready := conditions.Get(got, fluxmeta.ReadyCondition)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(status), ready.Message)
		if status == metav1.ConditionTrue {
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		}
		if revision != "" {
			g.Expect(got.Status.Artifact).NotTo(BeNil())
			g.Expect(got.Status.Artifact.Revision).To(Equal(revision))
		}
	}, timeout, 50*time.Millisecond).Should(Succeed())
	return got
}

// download fetches an artifact over HTTP, checks its digest and returns the
// files it holds.
func download(g Gomega, a *fluxmeta.Artifact) map[string]string {
	data := suite.DownloadG(g, a)
	g.Expect(int64(len(data))).To(Equal(*a.Size))

	files := map[string]string{}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	g.Expect(err).NotTo(HaveOccurred())
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		g.Expect(err).NotTo(HaveOccurred())
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			g.Expect(err).NotTo(HaveOccurred())
			files[h.Name] = string(b)
		}
	}
	return files
}

func requestReconcile(t *testing.T, obj *sourcev1.GitRepository) string {
	t.Helper()
	token := time.Now().Format(time.RFC3339Nano)
	patch := client.MergeFrom(obj.DeepCopy())
	obj.SetAnnotations(map[string]string{fluxmeta.ReconcileRequestAnnotation: token})
	NewWithT(t).Expect(env.Client.Patch(context.Background(), obj, patch)).To(Succeed())
	return token
}

func TestNewCommitProducesNewArtifact(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	repo := ns + "/app.git"
	first, err := gitSrv.Commit(repo, "main", "first", map[string]string{"deploy/cm.yaml": "v1", "README.md": "docs", "logo.png": "img"})
	g.Expect(err).NotTo(HaveOccurred())

	obj := newGitRepository(ns, "app", gitSrv.URL(repo))
	g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	got := waitFor(t, obj, metav1.ConditionTrue, "main@sha1:"+first)
	g.Expect(conditions.IsTrue(got, sourcev1.ArtifactInStorageCondition)).To(BeTrue())
	g.Expect(got.Status.Artifact.Path).To(Equal(fmt.Sprintf("gitrepository/%s/app/%s.tar.gz", ns, first)))
	g.Expect(download(g, got.Status.Artifact)).To(Equal(map[string]string{"deploy/cm.yaml": "v1", "README.md": "docs"}),
		"the default exclusions leave out images")
	g.Expect(got.Finalizers).To(ContainElement(sourcev1.SourceFinalizer))

	second, err := gitSrv.Commit(repo, "main", "second", map[string]string{"deploy/cm.yaml": "v2"})
	g.Expect(err).NotTo(HaveOccurred())
	requestReconcile(t, got)
	next := waitFor(t, obj, metav1.ConditionTrue, "main@sha1:"+second)
	g.Expect(next.Status.Artifact.Digest).NotTo(Equal(got.Status.Artifact.Digest))
	g.Expect(download(g, next.Status.Artifact)["deploy/cm.yaml"]).To(Equal("v2"))

	var events corev1.EventList
	g.Expect(env.Client.List(context.Background(), &events, client.InNamespace(ns))).To(Succeed())
	reasons := []string{}
	for _, e := range events.Items {
		reasons = append(reasons, e.Reason)
	}
	g.Expect(reasons).To(ContainElement(sourcev1.NewArtifactReason))
}

func TestUnchangedRemoteIsNotClonedAgain(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	repo := ns + "/app.git"
	head, err := gitSrv.Commit(repo, "main", "first", map[string]string{"a.yaml": "a"})
	g.Expect(err).NotTo(HaveOccurred())
	obj := newGitRepository(ns, "app", gitSrv.URL(repo))
	g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	got := waitFor(t, obj, metav1.ConditionTrue, "main@sha1:"+head)
	clonesBefore := gitSrv.Uploads(repo)
	g.Expect(clonesBefore).To(Equal(int64(1)))

	for range 3 {
		token := requestReconcile(t, got)
		g.Eventually(func(g Gomega) {
			g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got)).To(Succeed())
			g.Expect(got.Status.LastHandledReconcileAt).To(Equal(token))
		}, timeout, 50*time.Millisecond).Should(Succeed())
	}
	g.Expect(gitSrv.Uploads(repo)).To(Equal(clonesBefore), "an unchanged remote was cloned again")
	g.Expect(conditions.IsReady(got)).To(BeTrue())
}

func TestReferences(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	repo := ns + "/app.git"
	c1, err := gitSrv.Commit(repo, "main", "one", map[string]string{"v": "1"})
	g.Expect(err).NotTo(HaveOccurred())
	c2, err := gitSrv.Commit(repo, "main", "two", map[string]string{"v": "2"})
	g.Expect(err).NotTo(HaveOccurred())
	c3, err := gitSrv.Commit(repo, "main", "three", map[string]string{"v": "3"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(gitSrv.Tag(repo, "v1.0.0", c1)).To(Succeed())
	g.Expect(gitSrv.Tag(repo, "v1.1.0", c2)).To(Succeed())
	g.Expect(gitSrv.Tag(repo, "v2.0.0", c3)).To(Succeed())

	tests := []struct {
		name     string
		ref      sourcev1.GitRepositoryRef
		revision string
		content  string
	}{
		{"tag", sourcev1.GitRepositoryRef{Tag: "v1.0.0"}, "v1.0.0@sha1:" + c1, "1"},
		{"semver", sourcev1.GitRepositoryRef{SemVer: "~1"}, "v1.1.0@sha1:" + c2, "2"},
		{"commit", sourcev1.GitRepositoryRef{Commit: c1}, "sha1:" + c1, "1"},
		{"commit wins over tag", sourcev1.GitRepositoryRef{Tag: "v2.0.0", Commit: c2}, "sha1:" + c2, "2"},
		{"name", sourcev1.GitRepositoryRef{Name: "refs/tags/v2.0.0"}, "refs/tags/v2.0.0@sha1:" + c3, "3"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			obj := newGitRepository(ns, fmt.Sprintf("ref-%d", i), gitSrv.URL(repo), func(o *sourcev1.GitRepository) {
				o.Spec.Reference = &tt.ref
			})
			g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
			got := waitFor(t, obj, metav1.ConditionTrue, tt.revision)
			g.Expect(download(g, got.Status.Artifact)["v"]).To(Equal(tt.content))
		})
	}
}

func TestIgnoreRulesShapeTheArtifact(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	repo := ns + "/app.git"
	head, err := gitSrv.Commit(repo, "main", "first", map[string]string{
		"deploy/app.yaml": "app", "deploy/notes.md": "notes", ".sourceignore": "scratch/\n", "scratch/tmp.yaml": "x",
	})
	g.Expect(err).NotTo(HaveOccurred())
	obj := newGitRepository(ns, "app", gitSrv.URL(repo))
	g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	got := waitFor(t, obj, metav1.ConditionTrue, "main@sha1:"+head)
	files := download(g, got.Status.Artifact)
	g.Expect(files).To(HaveKey("deploy/notes.md"))
	g.Expect(files).NotTo(HaveKey("scratch/tmp.yaml"))

	got.Spec.Ignore = ptr.To("*.md\n")
	g.Expect(env.Client.Update(context.Background(), got)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got)).To(Succeed())
		g.Expect(got.Status.ObservedIgnore).To(Equal(ptr.To("*.md\n")))
	}, timeout, 50*time.Millisecond).Should(Succeed())
	files = download(g, got.Status.Artifact)
	g.Expect(files).To(HaveKey("deploy/app.yaml"))
	g.Expect(files).NotTo(HaveKey("deploy/notes.md"))
	g.Expect(got.Status.Artifact.Revision).To(Equal("main@sha1:" + head))
}

func TestIncludeCopiesAndFollowsTheIncludedRepository(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	libRepo, appRepo := ns+"/lib.git", ns+"/app.git"
	_, err := gitSrv.Commit(libRepo, "main", "lib", map[string]string{"base/lib.yaml": "lib-v1", "other.yaml": "o"})
	g.Expect(err).NotTo(HaveOccurred())
	appHead, err := gitSrv.Commit(appRepo, "main", "app", map[string]string{"app.yaml": "app"})
	g.Expect(err).NotTo(HaveOccurred())

	lib := newGitRepository(ns, "lib", gitSrv.URL(libRepo))
	app := newGitRepository(ns, "app", gitSrv.URL(appRepo), func(o *sourcev1.GitRepository) {
		o.Spec.Include = []sourcev1.GitRepositoryInclude{{
			GitRepositoryRef: fluxmeta.LocalObjectReference{Name: "lib"}, FromPath: "base", ToPath: "vendor/lib",
		}}
	})
	g.Expect(env.Client.Create(context.Background(), app)).To(Succeed())
	pending := waitFor(t, app, metav1.ConditionFalse, "")
	g.Expect(conditions.IsTrue(pending, sourcev1.IncludeUnavailableCondition)).To(BeTrue())

	g.Expect(env.Client.Create(context.Background(), lib)).To(Succeed())
	var got *sourcev1.GitRepository
	g.Eventually(func(g Gomega) {
		got = waitFor(t, app, metav1.ConditionTrue, "main@sha1:"+appHead)
		g.Expect(download(g, got.Status.Artifact)).To(Equal(map[string]string{"app.yaml": "app", "vendor/lib/lib.yaml": "lib-v1"}))
	}, timeout, 100*time.Millisecond).Should(Succeed())

	_, err = gitSrv.Commit(libRepo, "main", "lib v2", map[string]string{"base/lib.yaml": "lib-v2"})
	g.Expect(err).NotTo(HaveOccurred())
	requestReconcile(t, lib)
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(app), got)).To(Succeed())
		g.Expect(download(g, got.Status.Artifact)["vendor/lib/lib.yaml"]).To(Equal("lib-v2"))
	}, timeout, 100*time.Millisecond).Should(Succeed())
}

func TestGarbageCollectionAndDeletion(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	repo := ns + "/app.git"
	obj := newGitRepository(ns, "app", gitSrv.URL(repo))
	var heads []string
	for i := range 4 {
		head, err := gitSrv.Commit(repo, "main", fmt.Sprint(i), map[string]string{"v": fmt.Sprint(i)})
		g.Expect(err).NotTo(HaveOccurred())
		heads = append(heads, head)
		if i == 0 {
			g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
		} else {
			requestReconcile(t, obj)
		}
		obj = waitFor(t, obj, metav1.ConditionTrue, "main@sha1:"+head)
	}
	dir := filepath.Join(store.BasePath(), "gitrepository", ns, "app")
	entries, err := os.ReadDir(dir)
	g.Expect(err).NotTo(HaveOccurred())
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	g.Expect(names).To(ConsistOf(heads[2]+".tar.gz", heads[3]+".tar.gz"), "retention keeps 2 artifacts")

	g.Expect(env.Client.Delete(context.Background(), obj)).To(Succeed())
	g.Eventually(func() bool {
		err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
		return apierrors.IsNotFound(err)
	}, timeout, 50*time.Millisecond).Should(BeTrue())
	_, err = os.Stat(dir)
	g.Expect(os.IsNotExist(err)).To(BeTrue(), "storage directory was not removed")
}

func TestBadInputKeepsThePreviousArtifact(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	repo := ns + "/app.git"
	head, err := gitSrv.Commit(repo, "main", "first", map[string]string{"a": "a"})
	g.Expect(err).NotTo(HaveOccurred())
	obj := newGitRepository(ns, "app", gitSrv.URL(repo))
	g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	good := waitFor(t, obj, metav1.ConditionTrue, "main@sha1:"+head)

	tests := []struct {
		name    string
		mutate  func(*sourcev1.GitRepository)
		reason  string
		message string
	}{
		{"unknown branch", func(o *sourcev1.GitRepository) { o.Spec.Reference = &sourcev1.GitRepositoryRef{Branch: "nope"} },
			sourcev1.GitOperationFailedReason, "nope"},
		{"no tag matches", func(o *sourcev1.GitRepository) { o.Spec.Reference = &sourcev1.GitRepositoryRef{SemVer: ">= 9.0.0"} },
			sourcev1.GitOperationFailedReason, "9.0.0"},
		{"missing secret", func(o *sourcev1.GitRepository) {
			o.Spec.Reference = &sourcev1.GitRepositoryRef{Branch: "main"}
			o.Spec.SecretRef = &fluxmeta.LocalObjectReference{Name: "absent"}
		}, sourcev1.AuthenticationFailedReason, "spec.secretRef"},
		{"unreachable host", func(o *sourcev1.GitRepository) {
			o.Spec.SecretRef = nil
			o.Spec.URL = "http://127.0.0.1:1/nothing.git"
		}, sourcev1.GitOperationFailedReason, "127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			cur := &sourcev1.GitRepository{}
			g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), cur)).To(Succeed())
			tt.mutate(cur)
			g.Expect(env.Client.Update(context.Background(), cur)).To(Succeed())
			g.Eventually(func(g Gomega) {
				g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), cur)).To(Succeed())
				ready := conditions.Get(cur, fluxmeta.ReadyCondition)
				g.Expect(ready).NotTo(BeNil())
				g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
				g.Expect(ready.Reason).To(Equal(tt.reason))
				g.Expect(ready.Message).To(ContainSubstring(tt.message))
				g.Expect(conditions.IsTrue(cur, sourcev1.FetchFailedCondition)).To(BeTrue())
			}, timeout, 50*time.Millisecond).Should(Succeed())
			g.Expect(cur.Status.Artifact).To(Equal(good.Status.Artifact), "the previous artifact must stay")
			g.Expect(download(g, cur.Status.Artifact)).To(HaveKey("a"))
		})
	}
}

func TestSuspendStopsReconciling(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	repo := ns + "/app.git"
	head, err := gitSrv.Commit(repo, "main", "first", map[string]string{"a": "a"})
	g.Expect(err).NotTo(HaveOccurred())
	obj := newGitRepository(ns, "app", gitSrv.URL(repo))
	g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	got := waitFor(t, obj, metav1.ConditionTrue, "main@sha1:"+head)

	got.Spec.Suspend = true
	g.Expect(env.Client.Update(context.Background(), got)).To(Succeed())
	_, err = gitSrv.Commit(repo, "main", "second", map[string]string{"a": "b"})
	g.Expect(err).NotTo(HaveOccurred())
	uploads := gitSrv.Uploads(repo)
	requestReconcile(t, got)
	g.Consistently(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got)).To(Succeed())
		g.Expect(got.Status.Artifact.Revision).To(Equal("main@sha1:" + head))
	}, 2*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Expect(gitSrv.Uploads(repo)).To(Equal(uploads))
}
