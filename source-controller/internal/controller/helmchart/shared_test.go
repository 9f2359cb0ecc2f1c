package helmchart

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/source-controller/internal/helm/helmtest"
	"github.com/ferrycd/ferry/test/suite"
)

// createCharts creates n HelmCharts named prefix-<i> at once, as a bench or
// a fleet of HelmReleases would, and waits until all are Ready.
func createCharts(t *testing.T, ns, prefix string, n int, mutate ...func(*sourcev1.HelmChart)) []*sourcev1.HelmChart {
	t.Helper()
	objs := make([]*sourcev1.HelmChart, n)
	var wg sync.WaitGroup
	for i := range n {
		objs[i] = newHelmChart(ns, fmt.Sprintf("%s-%d", prefix, i), "app", sourcev1.HelmRepositoryKind, "charts", mutate...)
		wg.Go(func() { create(t, objs[i]) })
	}
	wg.Wait()
	for i, obj := range objs {
		objs[i] = waitChart(t, obj, metav1.ConditionTrue, "")
	}
	return objs
}

// appRepository serves chart app 1.0.0 from a new chart repository, as
// HelmRepository "charts" in ns.
func appRepository(t *testing.T, ns string) *helmtest.Repository {
	t.Helper()
	repo := helmtest.NewRepository(t, false)
	repo.Publish(t, helmtest.NewChart("app", "1.0.0", nil, nil))
	create(t, newHelmRepository(ns, "charts", repo.URL))
	return repo
}

// cachedFile returns the file of the chart cache that artifact a is a link
// to, or "" when there is none.
func cachedFile(t *testing.T, a *fluxmeta.Artifact) string {
	t.Helper()
	info, err := os.Stat(store.LocalPath(*a))
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	dir := store.SharedDir("helmchart")
	entries, err := os.ReadDir(dir)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	for _, e := range entries {
		if other, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && os.SameFile(info, other) {
			return filepath.Join(dir, e.Name())
		}
	}
	return ""
}

func TestIdenticalChartsArePulledAndPackagedOnce(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	repo := helmtest.NewRepository(t, false)
	repo.Publish(t, helmtest.NewChart("app", "1.0.0", map[string]any{"replicas": 1},
		map[string]string{"values-prod.yaml": "replicas: 3\n"}))
	create(t, newHelmRepository(ns, "charts", repo.URL))

	const n = 12
	pulled := createCharts(t, ns, "pulled", n, func(o *sourcev1.HelmChart) { o.Spec.Version = "1.x" })
	g.Expect(repo.ChartDownloads()).To(Equal(1), "%d HelmCharts of one chart version download it once", n)
	want := pulled[0].Status.Artifact
	g.Expect(suite.Download(t, want)).To(Equal(repo.Archive("app", "1.0.0")))
	shared := cachedFile(t, want)
	g.Expect(shared).NotTo(BeEmpty(), "the artifact is a link to the cached chart")
	for i, got := range pulled {
		a := got.Status.Artifact
		g.Expect(a.Path).To(Equal(fmt.Sprintf("helmchart/%s/pulled-%d/app-1.0.0.tgz", ns, i)), "each HelmChart serves its own path")
		g.Expect(a.Digest).To(Equal(want.Digest))
		g.Expect(cachedFile(t, a)).To(Equal(shared))
		g.Expect(suite.Download(t, a)).To(Equal(repo.Archive("app", "1.0.0")))
	}

	// Values files make a packaged chart; Helm stamps the time into each
	// package, so one digest for all means one packaging.
	packaged := createCharts(t, ns, "packaged", n, func(o *sourcev1.HelmChart) {
		o.Spec.ValuesFiles = []string{"values.yaml", "values-prod.yaml"}
	})
	g.Expect(repo.ChartDownloads()).To(Equal(2), "the packaged charts download the chart once more, together")
	for _, got := range packaged {
		g.Expect(got.Status.Artifact.Revision).To(Equal("1.0.0+1"))
		g.Expect(got.Status.Artifact.Digest).To(Equal(packaged[0].Status.Artifact.Digest))
		g.Expect(cachedFile(t, got.Status.Artifact)).To(Equal(cachedFile(t, packaged[0].Status.Artifact)))
		g.Expect(got.Status.ObservedValuesFiles).To(Equal([]string{"values.yaml", "values-prod.yaml"}))
	}
	g.Expect(packaged[0].Status.Artifact.Digest).NotTo(Equal(want.Digest))
	g.Expect(loadArtifact(t, packaged[n-1].Status.Artifact).Values).To(HaveKeyWithValue("replicas", float64(3)))

	// A HelmChart of an unchanged chart asking again downloads nothing.
	waitHandled(t, pulled[0], suite.RequestReconcile(t, env.Client, pulled[0], timeout))
	g.Expect(repo.ChartDownloads()).To(Equal(2))
}

func TestSharedChartGoesWithItsLastHelmChart(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	repo := appRepository(t, ns)
	objs := createCharts(t, ns, "app", 3)
	shared := cachedFile(t, objs[0].Status.Artifact)
	g.Expect(shared).NotTo(BeEmpty())

	deleteChart := func(obj *sourcev1.HelmChart) {
		g.Expect(env.Client.Delete(context.Background(), obj)).To(Succeed())
		g.Eventually(func() bool {
			return apierrors.IsNotFound(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), &sourcev1.HelmChart{}))
		}, timeout, 50*time.Millisecond).Should(BeTrue())
		_, err := os.Stat(filepath.Join(store.BasePath(), "helmchart", ns, obj.Name))
		g.Expect(os.IsNotExist(err)).To(BeTrue(), "the deleted HelmChart's storage is removed")
	}
	deleteChart(objs[0])
	deleteChart(objs[1])
	last := objs[2]
	g.Expect(suite.Download(t, last.Status.Artifact)).To(Equal(repo.Archive("app", "1.0.0")),
		"the last HelmChart still serves the chart")
	g.Expect(shared).To(BeAnExistingFile())
	waitHandled(t, last, suite.RequestReconcile(t, env.Client, last, timeout))
	g.Expect(suite.Download(t, last.Status.Artifact)).To(Equal(repo.Archive("app", "1.0.0")))

	deleteChart(last)
	g.Expect(shared).NotTo(BeAnExistingFile(), "the cached chart goes with the last HelmChart that served it")
	g.Expect(repo.ChartDownloads()).To(Equal(1))
}

func TestDamagedSharedChartIsBuiltAgain(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	repo := appRepository(t, ns)
	objs := createCharts(t, ns, "app", 2)
	damaged := objs[0].Status.Artifact.Digest

	// Written in place, the damage reaches every link to the shared file.
	g.Expect(os.WriteFile(store.LocalPath(*objs[0].Status.Artifact), []byte("damaged"), 0o644)).To(Succeed())
	for _, obj := range objs {
		got := waitHandled(t, obj, suite.RequestReconcile(t, env.Client, obj, timeout))
		g.Expect(got.Status.Artifact.Digest).To(Equal(damaged), "an intact chart has the digest it had")
		g.Expect(suite.Download(t, got.Status.Artifact)).To(Equal(repo.Archive("app", "1.0.0")))
	}
	g.Expect(repo.ChartDownloads()).To(Equal(2), "the damaged build is downloaded once more, for both")
}

func TestIdenticalChartsFromGitArePackagedOnce(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	files := helmtest.Files(t, helmtest.NewChart("app", "0.1.0", map[string]any{"replicas": 1}, nil), "charts/app")
	repoPath := ns + "/charts.git"
	_, err := gitSrv.Commit(repoPath, "main", "charts", files)
	g.Expect(err).NotTo(HaveOccurred())
	create(t, newGitRepository(ns, "src", gitSrv.URL(repoPath)))
	var objs []*sourcev1.HelmChart
	for i, path := range []string{"charts/app", "./charts/app", "charts/app"} {
		obj := newHelmChart(ns, fmt.Sprintf("app-%d", i), path, sourcev1.GitRepositoryKind, "src")
		create(t, obj)
		objs = append(objs, obj)
	}
	shared := ""
	for _, obj := range objs {
		got := waitChart(t, obj, metav1.ConditionTrue, sourcev1.ChartPackageSucceededReason, "packaged 'app' chart with version '0.1.0'")
		if shared == "" {
			shared = cachedFile(t, got.Status.Artifact)
			g.Expect(shared).NotTo(BeEmpty())
		}
		g.Expect(cachedFile(t, got.Status.Artifact)).To(Equal(shared), "one packaging for every spelling of the path")
	}
}

func TestSharedChartGoesWhenGarbageCollected(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	repo := appRepository(t, ns)
	objs := createCharts(t, ns, "app", 2, func(o *sourcev1.HelmChart) { o.Spec.Version = "1.x" })
	first := cachedFile(t, objs[0].Status.Artifact)
	g.Expect(first).NotTo(BeEmpty())

	// Storage keeps two artifacts per HelmChart: the first version goes
	// from both HelmCharts with the third, and its shared file with them.
	publish := func(v string) {
		repo.Publish(t, helmtest.NewChart("app", v, nil, nil))
		suite.RequestReconcile(t, env.Client, newHelmRepository(ns, "charts", ""), timeout)
		for _, obj := range objs {
			waitRevision(t, obj, v)
		}
	}
	publish("1.1.0")
	g.Expect(first).To(BeAnExistingFile(), "the previous artifacts still link to it")
	publish("1.2.0")
	g.Expect(first).NotTo(BeAnExistingFile())
	g.Expect(repo.ChartDownloads()).To(Equal(3), "one download per version for both HelmCharts")
}
