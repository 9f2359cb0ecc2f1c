package helmchart

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	"helm.sh/helm/v3/pkg/chart"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/source-controller/internal/helm"
	"github.com/ferrycd/ferry/source-controller/internal/helm/helmtest"
	"github.com/ferrycd/ferry/source-controller/internal/oci/ocitest"
	"github.com/ferrycd/ferry/test/suite"
)

func TestChartFromHelmRepository(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	repo := helmtest.NewRepository(t, false)
	repo.Username, repo.Password = "flux", "s3cret"
	for _, v := range []string{"1.0.0", "1.1.0", "2.0.0"} {
		repo.Publish(t, helmtest.NewChart("app", v, map[string]any{"replicas": 1}, nil))
	}
	repo.Publish(t, helmtest.NewChart("db", "0.1.0", nil, nil))
	create(t, secret(ns, "auth", map[string][]byte{"username": []byte("flux"), "password": []byte("s3cret")}))
	src := newHelmRepository(ns, "charts", repo.URL, func(o *sourcev1.HelmRepository) {
		o.Spec.SecretRef = &fluxmeta.LocalObjectReference{Name: "auth"}
	})
	create(t, src)

	obj := newHelmChart(ns, "app", "app", sourcev1.HelmRepositoryKind, "charts", func(o *sourcev1.HelmChart) { o.Spec.Version = "1.x" })
	create(t, obj)
	got := waitChart(t, obj, metav1.ConditionTrue, sourcev1.ChartPullSucceededReason, "pulled 'app' chart with version '1.1.0'")
	g.Expect(got.Status.Artifact.Revision).To(Equal("1.1.0"))
	g.Expect(got.Status.Artifact.Path).To(Equal(fmt.Sprintf("helmchart/%s/app/app-1.1.0.tgz", ns)))
	g.Expect(suite.Download(t, got.Status.Artifact)).To(Equal(repo.Archive("app", "1.1.0")), "a pulled chart is stored unchanged")
	g.Expect(got.Status.ObservedChartName).To(Equal("app"))
	g.Expect(got.Status.ObservedSourceArtifactRevision).NotTo(BeEmpty())
	g.Expect(conditions.IsTrue(got, sourcev1.ArtifactInStorageCondition)).To(BeTrue())
	g.Expect(got.Finalizers).To(ContainElement(sourcev1.SourceFinalizer))
	waitEvent(t, ns, sourcev1.ChartPullSucceededReason)
	g.Expect(repo.ChartDownloads()).To(Equal(1))

	for range 2 {
		got = waitHandled(t, obj, suite.RequestReconcile(t, env.Client, obj, timeout))
	}
	g.Expect(repo.ChartDownloads()).To(Equal(1), "an unchanged chart version is not downloaded again")
	g.Expect(conditions.GetMessage(got, fluxmeta.ReadyCondition)).To(Equal("pulled 'app' chart with version '1.1.0'"))

	// A new version reaches the chart through the HelmRepository alone.
	repo.Publish(t, helmtest.NewChart("app", "1.2.0", nil, nil))
	suite.RequestReconcile(t, env.Client, src, timeout)
	got = waitRevision(t, obj, "1.2.0")
	g.Expect(loadArtifact(t, got.Status.Artifact).Metadata.Version).To(Equal("1.2.0"))
	g.Expect(repo.ChartDownloads()).To(Equal(2))

	dir := filepath.Join(store.BasePath(), "helmchart", ns, "app")
	g.Expect(env.Client.Delete(context.Background(), got)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got))
	}, timeout, 50*time.Millisecond).Should(BeTrue())
	_, err := os.Stat(dir)
	g.Expect(os.IsNotExist(err)).To(BeTrue(), "storage directory was not removed")
}

func TestVersionSelection(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	repo := helmtest.NewRepository(t, false)
	for _, v := range []string{"1.0.0", "1.0.1", "1.1.0", "2.0.0", "3.0.0-rc.1"} {
		repo.Publish(t, helmtest.NewChart("app", v, nil, nil))
	}
	create(t, newHelmRepository(ns, "charts", repo.URL))
	tests := []struct{ version, want string }{
		{"", "2.0.0"},
		{"*", "2.0.0"},
		{"1.0.x", "1.0.1"},
		{"~1.1", "1.1.0"},
		{"1.0.0", "1.0.0"},
		{"<1.1.0", "1.0.1"},
		{">=2.0.0-0", "3.0.0-rc.1"},
	}
	for i, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			t.Parallel()
			obj := newHelmChart(ns, fmt.Sprintf("app-%d", i), "app", sourcev1.HelmRepositoryKind, "charts",
				func(o *sourcev1.HelmChart) { o.Spec.Version = tt.version })
			create(t, obj)
			waitRevision(t, obj, tt.want)
		})
	}
}

func TestValuesFilesAreMergedIntoTheChart(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	repo := helmtest.NewRepository(t, false)
	repo.Publish(t, helmtest.NewChart("app", "1.0.0",
		map[string]any{"replicas": 1, "image": map[string]any{"repository": "app", "tag": "1"}, "keep": true},
		map[string]string{"values-prod.yaml": "replicas: 3\nimage:\n  tag: \"2\"\nextra: yes-please\n"}))
	create(t, newHelmRepository(ns, "charts", repo.URL))
	obj := newHelmChart(ns, "app", "app", sourcev1.HelmRepositoryKind, "charts", func(o *sourcev1.HelmChart) {
		o.Spec.ValuesFiles = []string{"values.yaml", "values-prod.yaml"}
	})
	create(t, obj)
	got := waitChart(t, obj, metav1.ConditionTrue, sourcev1.ChartPackageSucceededReason, "packaged 'app' chart with version '1.0.0+1'")
	g.Expect(got.Status.Artifact.Revision).To(Equal("1.0.0+1"), "values files add the generation to the version, as in Flux")
	ch := loadArtifact(t, got.Status.Artifact)
	g.Expect(ch.Metadata.Version).To(Equal("1.0.0+1"))
	g.Expect(ch.Values).To(Equal(map[string]any{
		"replicas": float64(3), "image": map[string]any{"repository": "app", "tag": "2"}, "keep": true, "extra": "yes-please",
	}))
	g.Expect(got.Status.ObservedValuesFiles).To(Equal([]string{"values.yaml", "values-prod.yaml"}))

	updateChart(t, obj, func(o *sourcev1.HelmChart) {
		o.Spec.ValuesFiles = []string{"values-prod.yaml", "values-staging.yaml"}
		o.Spec.IgnoreMissingValuesFiles = true
	})
	got = waitRevision(t, obj, "1.0.0+2")
	g.Expect(got.Status.ObservedValuesFiles).To(Equal([]string{"values-prod.yaml"}))
	g.Expect(loadArtifact(t, got.Status.Artifact).Values).To(Equal(map[string]any{
		"replicas": float64(3), "image": map[string]any{"tag": "2"}, "extra": "yes-please",
	}), "only the listed files make values.yaml")
}

func TestChartFromGitRepositoryWithDependencies(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	deps := helmtest.NewRepository(t, false)
	deps.Publish(t, helmtest.NewChart("db", "0.1.0", nil, nil))
	deps.Publish(t, helmtest.NewChart("db", "0.1.5", nil, nil))
	deps.Publish(t, helmtest.NewChart("db", "0.2.0", nil, nil))

	app := helmtest.NewChart("app", "0.1.0", map[string]any{"replicas": 1}, nil,
		&chart.Dependency{Name: "lib", Version: "0.3.x", Repository: "file://../lib"},
		&chart.Dependency{Name: "db", Version: "~0.1", Repository: deps.URL})
	files := helmtest.Files(t, app, "charts/app")
	for p, c := range helmtest.Files(t, helmtest.NewChart("lib", "0.3.2", nil, nil), "charts/lib") {
		files[p] = c
	}
	files["env/prod.yaml"] = "replicas: 5\n"
	repoPath := ns + "/charts.git"
	head, err := gitSrv.Commit(repoPath, "main", "charts", files)
	g.Expect(err).NotTo(HaveOccurred())
	create(t, newGitRepository(ns, "src", gitSrv.URL(repoPath)))

	byVersion := newHelmChart(ns, "by-version", "charts/app", sourcev1.GitRepositoryKind, "src")
	byRevision := newHelmChart(ns, "by-revision", "./charts/app", sourcev1.GitRepositoryKind, "src", func(o *sourcev1.HelmChart) {
		o.Spec.ReconcileStrategy = sourcev1.ReconcileStrategyRevision
		o.Spec.ValuesFiles = []string{"charts/app/values.yaml", "env/prod.yaml"}
	})
	create(t, byVersion)
	create(t, byRevision)

	got := waitChart(t, byVersion, metav1.ConditionTrue, sourcev1.ChartPackageSucceededReason, "packaged 'app' chart with version '0.1.0'")
	g.Expect(got.Status.Artifact.Revision).To(Equal("0.1.0"))
	g.Expect(got.Status.Artifact.Path).To(Equal(fmt.Sprintf("helmchart/%s/by-version/app-0.1.0.tgz", ns)))
	g.Expect(got.Status.ObservedSourceArtifactRevision).To(Equal("main@sha1:" + head))
	ch := loadArtifact(t, got.Status.Artifact)
	subcharts := map[string]string{}
	for _, d := range ch.Dependencies() {
		subcharts[d.Name()] = d.Metadata.Version
	}
	g.Expect(subcharts).To(Equal(map[string]string{"lib": "0.3.2", "db": "0.1.5"}), "local and repository dependencies are packaged")
	byVersionDigest := got.Status.Artifact.Digest

	rev := waitChart(t, byRevision, metav1.ConditionTrue, sourcev1.ChartPackageSucceededReason)
	g.Expect(rev.Status.Artifact.Revision).To(Equal("0.1.0+" + head[:12] + ".1"))
	g.Expect(loadArtifact(t, rev.Status.Artifact).Values).To(HaveKeyWithValue("replicas", float64(5)))

	// A new commit reaches both charts through the GitRepository alone; only
	// the Revision strategy makes a new artifact of an unchanged version.
	files["charts/app/templates/extra.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n"
	next, err := gitSrv.Commit(repoPath, "main", "template", files)
	g.Expect(err).NotTo(HaveOccurred())
	suite.RequestReconcile(t, env.Client, newGitRepository(ns, "src", ""), timeout)
	rev = waitRevision(t, byRevision, "0.1.0+"+next[:12]+".1")
	g.Expect(loadArtifact(t, rev.Status.Artifact).Templates).To(ContainElement(HaveField("Name", "templates/extra.yaml")))
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(byVersion), got)).To(Succeed())
		g.Expect(got.Status.ObservedSourceArtifactRevision).To(Equal("main@sha1:" + next))
	}, timeout, 50*time.Millisecond).Should(Succeed())
	g.Expect(got.Status.Artifact.Revision).To(Equal("0.1.0"))
	g.Expect(got.Status.Artifact.Digest).To(Equal(byVersionDigest), "ChartVersion keeps the artifact of an unchanged version")
}

func TestChartFromOCIHelmRepository(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	reg := ocitest.New(t)
	pushChart := func(version string) []byte {
		data := helmtest.Package(t, helmtest.NewChart("app", version, nil, nil))
		reg.Push(t, "charts/app", version, helm.ChartConfigMediaType, ocitest.Layer{MediaType: helm.ChartLayerMediaType, Data: data})
		return data
	}
	pushChart("1.0.0")
	want := pushChart("1.1.0")
	pushChart("2.0.0")
	src := newHelmRepository(ns, "registry", "oci://"+reg.Host()+"/charts", func(o *sourcev1.HelmRepository) {
		o.Spec.Type = sourcev1.HelmRepositoryTypeOCI
	})
	create(t, src)
	obj := newHelmChart(ns, "app", "app", sourcev1.HelmRepositoryKind, "registry", func(o *sourcev1.HelmChart) { o.Spec.Version = "1.x" })
	create(t, obj)
	got := waitChart(t, obj, metav1.ConditionTrue, sourcev1.ChartPullSucceededReason, "pulled 'app' chart with version '1.1.0'")
	g.Expect(suite.Download(t, got.Status.Artifact)).To(Equal(want))
	blobs := reg.BlobGets("charts/app")

	got = waitHandled(t, obj, suite.RequestReconcile(t, env.Client, obj, timeout))
	g.Expect(reg.BlobGets("charts/app")).To(Equal(blobs), "an unchanged version is not pulled again")

	pushChart("1.2.0")
	suite.RequestReconcile(t, env.Client, obj, timeout)
	waitRevision(t, obj, "1.2.0")

	exact := newHelmChart(ns, "exact", "app", sourcev1.HelmRepositoryKind, "registry", func(o *sourcev1.HelmChart) { o.Spec.Version = "1.0.0" })
	create(t, exact)
	waitRevision(t, exact, "1.0.0")
}

func TestBadInputKeepsThePreviousArtifact(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	repo := helmtest.NewRepository(t, false)
	repo.Publish(t, helmtest.NewChart("app", "1.0.0", nil, nil))
	repo.PublishArchive(t, &chart.Metadata{APIVersion: chart.APIVersionV2, Name: "broken", Version: "1.0.0"}, []byte("not a chart"))
	repo.Publish(t, helmtest.NewChart("impostor", "1.0.0", nil, nil))
	create(t, newHelmRepository(ns, "charts", repo.URL))
	obj := newHelmChart(ns, "app", "app", sourcev1.HelmRepositoryKind, "charts")
	create(t, obj)
	good := waitChart(t, obj, metav1.ConditionTrue, "")

	tests := []struct {
		name      string
		mutate    func(*sourcev1.HelmChart)
		reason    string
		condition string
		text      string
	}{
		{"version does not exist", func(o *sourcev1.HelmChart) { o.Spec.Version = "9.x" },
			sourcev1.InvalidChartReferenceReason, sourcev1.FetchFailedCondition, "no 'app' chart with version matching '9.x' found"},
		{"chart does not exist", func(o *sourcev1.HelmChart) { o.Spec.Chart, o.Spec.Version = "nope", "*" },
			sourcev1.InvalidChartReferenceReason, sourcev1.FetchFailedCondition, "no chart named 'nope'"},
		{"chart does not load", func(o *sourcev1.HelmChart) { o.Spec.Chart = "broken" },
			sourcev1.ChartPullErrorReason, sourcev1.BuildFailedCondition, "downloaded chart 'broken' version '1.0.0' is not valid"},
		{"values file not in the chart", func(o *sourcev1.HelmChart) {
			o.Spec.Chart = "app"
			o.Spec.ValuesFiles = []string{"values.yaml", "values-missing.yaml"}
		}, sourcev1.ValuesFilesErrorReason, sourcev1.BuildFailedCondition, "values file 'values-missing.yaml' not found"},
		{"source does not exist", func(o *sourcev1.HelmChart) {
			o.Spec.ValuesFiles = nil
			o.Spec.SourceRef.Name = "absent"
		}, sourcev1.SourceUnavailableReason, sourcev1.FetchFailedCondition, "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			updateChart(t, obj, tt.mutate)
			got := waitChart(t, obj, metav1.ConditionFalse, tt.reason, tt.text)
			g.Expect(conditions.IsTrue(got, tt.condition)).To(BeTrue())
			g.Expect(got.Status.Artifact).To(Equal(good.Status.Artifact), "the previous artifact must stay")
			suite.Download(t, got.Status.Artifact)
			waitEvent(t, ns, tt.reason)
		})
	}
}

func TestBadChartsFromGit(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	files := helmtest.Files(t, helmtest.NewChart("needs-lib", "0.1.0", nil, nil,
		&chart.Dependency{Name: "lib", Version: "1.x", Repository: "file://../lib"}), "charts/needs-lib")
	for p, c := range helmtest.Files(t, helmtest.NewChart("escapes", "0.1.0", nil, nil,
		&chart.Dependency{Name: "lib", Version: "1.x", Repository: "file://../../../etc"}), "charts/escapes") {
		files[p] = c
	}
	files["charts/invalid/Chart.yaml"] = "apiVersion: v2\nname: invalid\n"
	repoPath := ns + "/charts.git"
	_, err := gitSrv.Commit(repoPath, "main", "charts", files)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	create(t, newGitRepository(ns, "src", gitSrv.URL(repoPath)))
	tests := []struct{ path, reason, text string }{
		{"charts/needs-lib", sourcev1.DependencyBuildErrorReason, "dependency 'lib': path 'file://../lib' not found"},
		{"charts/escapes", sourcev1.DependencyBuildErrorReason, "points outside the source"},
		{"charts/invalid", sourcev1.ChartPackageErrorReason, "failed to load chart from path 'charts/invalid'"},
		{"charts/absent", sourcev1.InvalidChartReferenceReason, "no chart at path 'charts/absent'"},
	}
	for i, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			obj := newHelmChart(ns, fmt.Sprintf("chart-%d", i), tt.path, sourcev1.GitRepositoryKind, "src")
			create(t, obj)
			got := waitChart(t, obj, metav1.ConditionFalse, tt.reason, tt.text)
			NewWithT(t).Expect(conditions.IsTrue(got, sourcev1.BuildFailedCondition)).To(BeTrue())
		})
	}
}
