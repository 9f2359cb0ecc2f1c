package ocirepository

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/source-controller/internal/helm"
	"github.com/ferrycd/ferry/source-controller/internal/helm/helmtest"
	"github.com/ferrycd/ferry/source-controller/internal/oci/ocitest"
	"github.com/ferrycd/ferry/test/suite"
)

const (
	timeout          = 30 * time.Second
	contentMediaType = "application/vnd.cncf.flux.content.v1.tar+gzip"
	configMediaType  = "application/vnd.cncf.flux.config.v1+json"
)

func newNamespace(t *testing.T) string {
	t.Helper()
	return suite.NewNamespace(t, env.Client, "ocirepo-")
}

func newOCIRepository(ns, name, url string, mutate ...func(*sourcev1.OCIRepository)) *sourcev1.OCIRepository {
	obj := &sourcev1.OCIRepository{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       sourcev1.OCIRepositorySpec{URL: url, Interval: metav1.Duration{Duration: time.Hour}},
	}
	for _, m := range mutate {
		m(obj)
	}
	return obj
}

// targz builds a gzipped tarball of files, as `flux push artifact` does.
func targz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func push(t *testing.T, reg *ocitest.Registry, repo, tag string, files map[string]string) string {
	t.Helper()
	return reg.Push(t, repo, tag, configMediaType, ocitest.Layer{MediaType: contentMediaType, Data: targz(t, files)})
}

// waitReady waits until Ready has status, reason and a message containing
// text (any when empty) and, for True, observedGeneration is current.
func waitReady(t *testing.T, obj *sourcev1.OCIRepository, status metav1.ConditionStatus, reason string, text ...string) *sourcev1.OCIRepository {
	t.Helper()
	got := &sourcev1.OCIRepository{}
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got)).To(Succeed())
		ready := conditions.Get(got, fluxmeta.ReadyCondition)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(status), ready.Message)
		if reason != "" {
			g.Expect(ready.Reason).To(Equal(reason), ready.Message)
		}
		for _, tx := range text {
			g.Expect(ready.Message).To(ContainSubstring(tx))
		}
		if status == metav1.ConditionTrue {
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		}
	}, timeout, 50*time.Millisecond).Should(Succeed())
	return got
}

// files lists the regular files of a tar.gz.
func files(t *testing.T, data []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			out[h.Name] = string(b)
		}
	}
}

func waitHandled(t *testing.T, obj *sourcev1.OCIRepository, token string) *sourcev1.OCIRepository {
	t.Helper()
	got := &sourcev1.OCIRepository{}
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got)).To(Succeed())
		g.Expect(got.Status.LastHandledReconcileAt).To(Equal(token))
	}, timeout, 50*time.Millisecond).Should(Succeed())
	return got
}

func update(t *testing.T, obj *sourcev1.OCIRepository, mutate func(*sourcev1.OCIRepository)) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		cur := &sourcev1.OCIRepository{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), cur); err != nil {
			return err
		}
		mutate(cur)
		return env.Client.Update(context.Background(), cur)
	}, timeout, 50*time.Millisecond).Should(Succeed())
}

func TestTagIsPulledOnceAndFollowed(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	reg := ocitest.New(t)
	digest := push(t, reg, "manifests/app", "v1.0.0", map[string]string{"deploy/app.yaml": "v1", "logo.png": "img"})

	obj := newOCIRepository(ns, "app", "oci://"+reg.Host()+"/manifests/app", func(o *sourcev1.OCIRepository) {
		o.Spec.Reference = &sourcev1.OCIRepositoryRef{Tag: "v1.0.0"}
	})
	g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	got := waitReady(t, obj, metav1.ConditionTrue, fluxmeta.SucceededReason)
	g.Expect(got.Status.Artifact.Revision).To(Equal("v1.0.0@" + digest))
	g.Expect(got.Status.Artifact.Path).To(Equal(fmt.Sprintf("ocirepository/%s/app/%s.tar.gz", ns, digest[len("sha256:"):])))
	g.Expect(files(t, suite.Download(t, got.Status.Artifact))).To(Equal(map[string]string{"deploy/app.yaml": "v1"}),
		"the default exclusions leave out images")
	g.Expect(got.Finalizers).To(ContainElement(sourcev1.SourceFinalizer))
	blobs, manifests := reg.BlobGets("manifests/app"), reg.ManifestGets("manifests/app")

	for range 2 {
		got = waitHandled(t, obj, suite.RequestReconcile(t, env.Client, obj, timeout))
	}
	g.Expect(reg.BlobGets("manifests/app")).To(Equal(blobs), "an unchanged digest is not pulled again")
	g.Expect(reg.ManifestGets("manifests/app")).To(Equal(manifests), "an unchanged digest is resolved with HEAD only")
	g.Expect(conditions.IsReady(got)).To(BeTrue())

	next := push(t, reg, "manifests/app", "v1.0.0", map[string]string{"deploy/app.yaml": "v2"})
	suite.RequestReconcile(t, env.Client, obj, timeout)
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got)).To(Succeed())
		g.Expect(got.Status.Artifact.Revision).To(Equal("v1.0.0@" + next))
	}, timeout, 50*time.Millisecond).Should(Succeed())
	g.Expect(files(t, suite.Download(t, got.Status.Artifact))["deploy/app.yaml"]).To(Equal("v2"))

	update(t, obj, func(o *sourcev1.OCIRepository) { o.Spec.Ignore = ptr.To("") })
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got)).To(Succeed())
		g.Expect(got.Status.ObservedIgnore).To(Equal(ptr.To("")))
	}, timeout, 50*time.Millisecond).Should(Succeed())
	g.Expect(files(t, suite.Download(t, got.Status.Artifact))).To(HaveLen(1))
}

func TestReferences(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	reg := ocitest.New(t)
	url := "oci://" + reg.Host() + "/manifests/app"
	d1 := push(t, reg, "manifests/app", "1.0.0", map[string]string{"v": "1.0.0"})
	d2 := push(t, reg, "manifests/app", "1.1.0", map[string]string{"v": "1.1.0"})
	d3 := push(t, reg, "manifests/app", "2.0.0-rc.1", map[string]string{"v": "2.0.0-rc.1"})
	d4 := push(t, reg, "manifests/app", "latest", map[string]string{"v": "latest"})
	tests := []struct {
		name     string
		ref      *sourcev1.OCIRepositoryRef
		revision string
	}{
		{"latest by default", nil, "latest@" + d4},
		{"tag", &sourcev1.OCIRepositoryRef{Tag: "1.0.0"}, "1.0.0@" + d1},
		{"semver", &sourcev1.OCIRepositoryRef{SemVer: "1.x"}, "1.1.0@" + d2},
		{"semver with prereleases", &sourcev1.OCIRepositoryRef{SemVer: ">=1.0.0-0", SemverFilter: ".*-rc.*"}, "2.0.0-rc.1@" + d3},
		{"digest wins", &sourcev1.OCIRepositoryRef{Tag: "1.1.0", Digest: d1}, d1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			obj := newOCIRepository(ns, fmt.Sprintf("ref-%d", i), url, func(o *sourcev1.OCIRepository) { o.Spec.Reference = tt.ref })
			NewWithT(t).Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
			got := waitReady(t, obj, metav1.ConditionTrue, "")
			NewWithT(t).Expect(got.Status.Artifact.Revision).To(Equal(tt.revision))
		})
	}
}

func TestHelmChartLayerIsCopied(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	reg := ocitest.New(t)
	chartData := helmtest.Package(t, helmtest.NewChart("app", "1.2.3", map[string]any{"replicas": 2}, nil))
	digest := reg.Push(t, "charts/app", "1.2.3", helm.ChartConfigMediaType,
		ocitest.Layer{MediaType: helm.ChartLayerMediaType, Data: chartData})
	obj := newOCIRepository(ns, "app", "oci://"+reg.Host()+"/charts/app", func(o *sourcev1.OCIRepository) {
		o.Spec.Reference = &sourcev1.OCIRepositoryRef{SemVer: ">=1.0.0"}
		o.Spec.LayerSelector = &sourcev1.OCILayerSelector{MediaType: helm.ChartLayerMediaType, Operation: sourcev1.OCILayerCopy}
	})
	g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	got := waitReady(t, obj, metav1.ConditionTrue, "")
	g.Expect(got.Status.Artifact.Revision).To(Equal("1.2.3@" + digest))
	g.Expect(suite.Download(t, got.Status.Artifact)).To(Equal(chartData), "copy stores the layer unchanged")
	g.Expect(got.Status.ObservedLayerSelector).To(Equal(obj.Spec.LayerSelector))
}

func TestRegistryCredentials(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	reg := ocitest.New(t)
	reg.RequireAuth("flux", "s3cret")
	push(t, reg, "private/app", "v1", map[string]string{"a.yaml": "a"})
	cfg, err := json.Marshal(map[string]any{"auths": map[string]any{reg.Host(): map[string]string{"username": "flux", "password": "s3cret"}}})
	g.Expect(err).NotTo(HaveOccurred())
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: ns},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: cfg},
	}
	g.Expect(env.Client.Create(context.Background(), secret)).To(Succeed())
	url := "oci://" + reg.Host() + "/private/app"

	anon := newOCIRepository(ns, "anonymous", url, func(o *sourcev1.OCIRepository) { o.Spec.Reference = &sourcev1.OCIRepositoryRef{Tag: "v1"} })
	g.Expect(env.Client.Create(context.Background(), anon)).To(Succeed())
	got := waitReady(t, anon, metav1.ConditionFalse, sourcev1.AuthenticationFailedReason, "check the credentials in spec.secretRef")
	g.Expect(conditions.IsTrue(got, sourcev1.FetchFailedCondition)).To(BeTrue())

	authed := newOCIRepository(ns, "authed", url, func(o *sourcev1.OCIRepository) {
		o.Spec.Reference = &sourcev1.OCIRepositoryRef{Tag: "v1"}
		o.Spec.SecretRef = &fluxmeta.LocalObjectReference{Name: "creds"}
	})
	g.Expect(env.Client.Create(context.Background(), authed)).To(Succeed())
	got = waitReady(t, authed, metav1.ConditionTrue, "")
	g.Expect(files(t, suite.Download(t, got.Status.Artifact))).To(HaveKey("a.yaml"))
}

func TestBadInputKeepsThePreviousArtifact(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	reg := ocitest.New(t)
	push(t, reg, "manifests/app", "v1", map[string]string{"a.yaml": "a"})
	reg.Push(t, "manifests/app", "not-gzip", configMediaType, ocitest.Layer{MediaType: contentMediaType, Data: []byte("plain text")})
	obj := newOCIRepository(ns, "app", "oci://"+reg.Host()+"/manifests/app", func(o *sourcev1.OCIRepository) {
		o.Spec.Reference = &sourcev1.OCIRepositoryRef{Tag: "v1"}
	})
	g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	good := waitReady(t, obj, metav1.ConditionTrue, "")

	tests := []struct {
		name   string
		mutate func(*sourcev1.OCIRepository)
		reason string
		text   string
	}{
		{"tag does not exist", func(o *sourcev1.OCIRepository) { o.Spec.Reference = &sourcev1.OCIRepositoryRef{Tag: "v9"} },
			sourcev1.OCIPullFailedReason, "manifests/app:v9' not found"},
		{"no tag in semver range", func(o *sourcev1.OCIRepository) { o.Spec.Reference = &sourcev1.OCIRepositoryRef{SemVer: ">=5.0.0"} },
			sourcev1.OCIPullFailedReason, "no tag matches semver range '>=5.0.0'"},
		{"no layer of the media type", func(o *sourcev1.OCIRepository) {
			o.Spec.Reference = &sourcev1.OCIRepositoryRef{Tag: "v1"}
			o.Spec.LayerSelector = &sourcev1.OCILayerSelector{MediaType: "application/x-other"}
		}, sourcev1.OCIPullFailedReason, "no layer of media type 'application/x-other'"},
		{"layer is not a tarball", func(o *sourcev1.OCIRepository) {
			o.Spec.Reference = &sourcev1.OCIRepositoryRef{Tag: "not-gzip"}
			o.Spec.LayerSelector = nil
		}, sourcev1.OCILayerOperationFailedReason, "failed to extract the layer"},
		{"missing secret", func(o *sourcev1.OCIRepository) {
			o.Spec.Reference = &sourcev1.OCIRepositoryRef{Tag: "v1"}
			o.Spec.SecretRef = &fluxmeta.LocalObjectReference{Name: "absent"}
		}, sourcev1.AuthenticationFailedReason, "absent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			update(t, obj, tt.mutate)
			got := waitReady(t, obj, metav1.ConditionFalse, tt.reason, tt.text)
			g.Expect(conditions.IsTrue(got, sourcev1.FetchFailedCondition)).To(BeTrue())
			g.Expect(got.Status.Artifact).To(Equal(good.Status.Artifact), "the previous artifact must stay")
			suite.Download(t, got.Status.Artifact)
		})
	}
}
