package helmchart

import (
	"testing"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/source-controller/internal/cosign/cosigntest"
	"github.com/ferrycd/ferry/source-controller/internal/helm"
	"github.com/ferrycd/ferry/source-controller/internal/helm/helmtest"
	"github.com/ferrycd/ferry/source-controller/internal/oci/ocitest"
	"github.com/ferrycd/ferry/test/suite"
)

func verifyChart(secret string) func(*sourcev1.HelmChart) {
	return func(o *sourcev1.HelmChart) {
		o.Spec.Version = "1.x"
		o.Spec.Verify = cosigntest.Verification(secret)
	}
}

func TestSignedOCIChartIsServedAndUnsignedRefused(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	reg := ocitest.New(t)
	trusted, other := cosigntest.NewKey(t), cosigntest.NewKey(t)
	create(t, secret(ns, "cosign-keys", cosigntest.Secret(trusted)))
	// pushChart pushes version of the chart app and returns its
	// host/repo@digest reference and archive.
	pushChart := func(version string) (string, []byte) {
		data := helmtest.Package(t, helmtest.NewChart("app", version, nil, nil))
		d := reg.Push(t, "charts/app", version, helm.ChartConfigMediaType, ocitest.Layer{MediaType: helm.ChartLayerMediaType, Data: data})
		return reg.Host() + "/charts/app@" + d, data
	}
	ref, want := pushChart("1.0.0")
	trusted.Sign(t, ref)
	create(t, newHelmRepository(ns, "registry", "oci://"+reg.Host()+"/charts", func(o *sourcev1.HelmRepository) {
		o.Spec.Type = sourcev1.HelmRepositoryTypeOCI
	}))
	obj := newHelmChart(ns, "app", "app", sourcev1.HelmRepositoryKind, "registry", verifyChart("cosign-keys"))
	create(t, obj)
	good := waitChart(t, obj, metav1.ConditionTrue, sourcev1.ChartPullSucceededReason, "pulled 'app' chart with version '1.0.0'")
	cosigntest.ExpectSourceVerified(t, good, metav1.ConditionTrue, "verified signature of version 1.0.0")
	g.Expect(suite.Download(t, good.Status.Artifact)).To(Equal(want))

	// A verified, unchanged version is neither verified nor pulled again.
	manifests := reg.ManifestGets("charts/app")
	got := waitHandled(t, obj, suite.RequestReconcile(t, env.Client, obj, timeout))
	g.Expect(reg.ManifestGets("charts/app")).To(Equal(manifests))
	cosigntest.ExpectSourceVerified(t, got, metav1.ConditionTrue, "verified signature of version 1.0.0")

	steps := []struct {
		name    string
		version string
		sign    func(ref string)
		text    string
	}{
		{"unsigned", "1.1.0", func(string) {}, "no signature found for"},
		{"signed with another key", "1.2.0", func(ref string) { other.Sign(t, ref) }, "not signed with any of these keys"},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			g := NewWithT(t)
			ref, _ := pushChart(step.version)
			step.sign(ref)
			suite.RequestReconcile(t, env.Client, obj, timeout)
			got := waitChart(t, obj, metav1.ConditionFalse, sourcev1.VerificationErrorReason,
				"failed to verify the signature using provider 'cosign'", step.text, ref)
			cosigntest.ExpectSourceVerified(t, got, metav1.ConditionFalse, step.text)
			g.Expect(got.Status.Artifact).To(Equal(good.Status.Artifact), "the previous verified chart must stay")
			g.Expect(suite.Download(t, got.Status.Artifact)).To(Equal(want))
		})
	}

	ref, want = pushChart("1.3.0")
	trusted.Sign(t, ref)
	suite.RequestReconcile(t, env.Client, obj, timeout)
	got = waitRevision(t, obj, "1.3.0")
	cosigntest.ExpectSourceVerified(t, got, metav1.ConditionTrue, "verified signature of version 1.3.0")
	g.Expect(suite.Download(t, got.Status.Artifact)).To(Equal(want))
}

func TestVerifyNeedsAnOCIChart(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	repo := helmtest.NewRepository(t, false)
	repo.Publish(t, helmtest.NewChart("app", "1.0.0", nil, nil))
	src := newHelmRepository(ns, "charts", repo.URL)
	create(t, src)
	waitSourceReady(t, src)
	create(t, secret(ns, "cosign-keys", cosigntest.Secret(cosigntest.NewKey(t))))
	obj := newHelmChart(ns, "app", "app", sourcev1.HelmRepositoryKind, "charts", verifyChart("cosign-keys"))
	create(t, obj)
	got := waitChart(t, obj, metav1.ConditionFalse, sourcev1.VerificationErrorReason, "supported only for charts from a HelmRepository of type oci")
	g.Expect(conditions.IsTrue(got, fluxmeta.StalledCondition)).To(BeTrue())
	cosigntest.ExpectSourceVerified(t, got, metav1.ConditionFalse, "supported only")
	g.Expect(got.Status.Artifact).To(BeNil())
	g.Expect(repo.ChartDownloads()).To(BeZero())
}
