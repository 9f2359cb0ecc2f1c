package helmrelease

import (
	"context"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	helmaction "helm.sh/helm/v3/pkg/action"
	helmrelease "helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/kubeclient"
	"github.com/ferrycd/ferry/test/suite"
)

const timeout = 60 * time.Second

// quietWait is the suite's quiet wait period (outcome.Finisher.Quiet): longer than the controllers'
// default, so that a test handing a new release its chart's artifact at
// once (as the source-controller does) does so within it on a loaded
// machine.
const quietWait = 10 * time.Second

// goodChart renders two ConfigMaps from the values.
var goodChart = map[string]string{
	"a.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-a
data:
  greeting: {{ .Values.greeting | quote }}
  version: {{ .Chart.Version | quote }}
`,
	"b.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-b
data:
  extra: {{ .Values.extra | default "none" | quote }}
`,
}

// badChart renders, but the API server rejects its ConfigMap's name, so
// Helm stores a failed release.
var badChart = withTemplate(goodChart, "bad.yaml", `apiVersion: v1
kind: ConfigMap
metadata:
  name: Not_A_Valid_Name
`)

// testedChart adds a test hook Pod.
var testedChart = withTemplate(goodChart, "test.yaml", `apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-test
  annotations:
    helm.sh/hook: test
spec:
  restartPolicy: Never
  containers:
  - name: test
    image: busybox
`)

func withTemplate(base map[string]string, name, content string) map[string]string {
	out := map[string]string{name: content}
	for k, v := range base {
		out[k] = v
	}
	return out
}

func newNamespace(t *testing.T) string {
	t.Helper()
	return suite.NewNamespace(t, env.Client, "hr-")
}

// publishHelmChart creates (or updates) a HelmChart whose artifact is the
// packaged chart, standing in for the source-controller.
func publishHelmChart(t *testing.T, ns, name, version string, templates map[string]string) *fluxmeta.Artifact {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	a, err := charts.Publish("app", version, templates)
	g.Expect(err).NotTo(HaveOccurred())
	hc := &sourcev1.HelmChart{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, hc); err != nil {
		hc = &sourcev1.HelmChart{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: sourcev1.HelmChartSpec{Chart: "app", Version: "*", Interval: metav1.Duration{Duration: time.Hour},
				SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: "HelmRepository", Name: "repo"}},
		}
		g.Expect(env.Client.Create(ctx, hc)).To(Succeed())
	}
	setArtifact(t, hc, a)
	return a
}

func setArtifact(t *testing.T, hc *sourcev1.HelmChart, a *fluxmeta.Artifact) {
	t.Helper()
	updateStatus(t, hc, func() {
		hc.Status.Artifact = a
		hc.Status.ObservedGeneration = hc.Generation
		conditions.MarkTrue(hc, fluxmeta.ReadyCondition, fluxmeta.SucceededReason, "stored artifact")
	})
}

// updateStatus applies mut to the latest copy of obj and writes its
// status, retrying conflicts, standing in for the controller that owns it.
func updateStatus(t *testing.T, obj client.Object, mut func()) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		mut()
		return env.Client.Status().Update(context.Background(), obj)
	}, timeout).Should(Succeed())
}

// newRelease creates a HelmRelease of the HelmChart "chart" in ns.
func newRelease(t *testing.T, ns, name string, mut ...func(*helmv2.HelmRelease)) *helmv2.HelmRelease {
	t.Helper()
	hr := &helmv2.HelmRelease{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: helmv2.HelmReleaseSpec{
			Interval: metav1.Duration{Duration: time.Hour},
			ChartRef: &helmv2.CrossNamespaceSourceReference{Kind: sourcev1.HelmChartKind, Name: "chart"},
		},
	}
	for _, m := range mut {
		m(hr)
	}
	if err := env.Client.Create(context.Background(), hr); err != nil {
		t.Fatal(err)
	}
	return hr
}

func inlineValues(raw string) func(*helmv2.HelmRelease) {
	return func(hr *helmv2.HelmRelease) { hr.Spec.Values = &apiextensionsv1.JSON{Raw: []byte(raw)} }
}

// waitFor polls hr until check passes.
func waitFor(t *testing.T, hr *helmv2.HelmRelease, check func(g Gomega, hr *helmv2.HelmRelease)) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(hr), hr)).To(Succeed())
		check(g, hr)
	}, timeout, 100*time.Millisecond).Should(Succeed())
}

// waitReady waits until hr is Ready for its generation with the latest
// release at chart version and release version.
func waitReady(t *testing.T, hr *helmv2.HelmRelease, chartVersion string, version int) {
	t.Helper()
	waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {
		g.Expect(conditions.IsReady(hr)).To(BeTrue(), "ready: %v", hr.Status.Conditions)
		g.Expect(hr.Status.ObservedGeneration).To(Equal(hr.Generation))
		latest := hr.Status.History.Latest()
		g.Expect(latest).NotTo(BeNil())
		g.Expect(latest.ChartVersion).To(Equal(chartVersion))
		g.Expect(latest.Version).To(Equal(version))
		g.Expect(latest.Status).To(Equal("deployed"))
	})
}

// waitReleased waits until hr is Ready with its latest release at
// chartVersion, whichever release version that is.
func waitReleased(t *testing.T, hr *helmv2.HelmRelease, chartVersion string) {
	t.Helper()
	waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {
		g.Expect(conditions.IsReady(hr)).To(BeTrue(), "ready: %v", hr.Status.Conditions)
		latest := hr.Status.History.Latest()
		g.Expect(latest).NotTo(BeNil())
		g.Expect(latest.ChartVersion).To(Equal(chartVersion))
	})
}

// waitStalled waits until hr is Stalled with reason and check passes. The
// patch helper writes conditions before the rest of status, so checks of
// other status fields belong in check.
func waitStalled(t *testing.T, hr *helmv2.HelmRelease, reason string, check func(g Gomega, hr *helmv2.HelmRelease)) {
	t.Helper()
	waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {
		g.Expect(conditions.IsStalled(hr)).To(BeTrue(), "stalled: %v", hr.Status.Conditions)
		g.Expect(conditions.GetReason(hr, fluxmeta.StalledCondition)).To(Equal(reason))
		g.Expect(conditions.IsFalse(hr, fluxmeta.ReadyCondition)).To(BeTrue())
		if check != nil {
			check(g, hr)
		}
	})
}

// helmConfig is the Helm configuration the controller uses for hr. Like
// the controller's, it remembers what it read of Helm storage: use a new
// one to see what a reconcile wrote since.
func helmConfig(t *testing.T, hr *helmv2.HelmRelease) *helmaction.Configuration {
	t.Helper()
	target, err := reconciler.Clients.Get(context.Background(), env.Client, kubeclient.Options{Namespace: hr.Namespace})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := reconciler.Configs.For(target, hr.GetReleaseNamespace(), hr.GetStorageNamespace(), logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// helmList lists all releases in hr's storage namespace, as `helm list -a`.
func helmList(t *testing.T, hr *helmv2.HelmRelease) []*helmrelease.Release {
	t.Helper()
	l := helmaction.NewList(helmConfig(t, hr))
	l.All = true
	l.SetStateMask()
	rels, err := l.Run()
	if err != nil {
		t.Fatal(err)
	}
	return rels
}

func configMap(t *testing.T, ns, name string) (*corev1.ConfigMap, error) {
	t.Helper()
	cm := &corev1.ConfigMap{}
	err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, cm)
	return cm, err
}

func update(t *testing.T, hr *helmv2.HelmRelease, mut func(*helmv2.HelmRelease)) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(hr), hr); err != nil {
			return err
		}
		mut(hr)
		return env.Client.Update(context.Background(), hr)
	}, timeout).Should(Succeed())
}
