package helmrepository

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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/source-controller/internal/helm/helmtest"
	"github.com/ferrycd/ferry/test/suite"
)

const timeout = 30 * time.Second

func newNamespace(t *testing.T) string {
	t.Helper()
	return suite.NewNamespace(t, env.Client, "helmrepo-")
}

func newHelmRepository(ns, name, url string, mutate ...func(*sourcev1.HelmRepository)) *sourcev1.HelmRepository {
	obj := &sourcev1.HelmRepository{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       sourcev1.HelmRepositorySpec{URL: url, Interval: metav1.Duration{Duration: time.Hour}},
	}
	for _, m := range mutate {
		m(obj)
	}
	return obj
}

func newSecret(t *testing.T, ns, name string, data map[string][]byte) {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: data}
	NewWithT(t).Expect(env.Client.Create(context.Background(), s)).To(Succeed())
}

// waitReady waits until Ready has status, reason and a message containing
// text (any reason or message when empty) and, for True, observedGeneration
// is current; it returns the object.
func waitReady(t *testing.T, obj *sourcev1.HelmRepository, status metav1.ConditionStatus, reason string, text ...string) *sourcev1.HelmRepository {
	t.Helper()
	got := &sourcev1.HelmRepository{}
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

func digestOf(data []byte) string {
	return fmt.Sprintf("sha256:%x", sha256.Sum256(data))
}

// served returns the index the repository serves now.
func served(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url + "/index.yaml")
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return data
}

// download fetches an artifact and checks its digest and size.
func download(t *testing.T, a *fluxmeta.Artifact) []byte {
	t.Helper()
	data := suite.Download(t, a)
	NewWithT(t).Expect(int64(len(data))).To(Equal(*a.Size))
	return data
}

func requestReconcile(t *testing.T, obj *sourcev1.HelmRepository) string {
	t.Helper()
	token := time.Now().Format(time.RFC3339Nano)
	patch := client.MergeFrom(obj.DeepCopy())
	obj.SetAnnotations(map[string]string{fluxmeta.ReconcileRequestAnnotation: token})
	NewWithT(t).Expect(env.Client.Patch(context.Background(), obj, patch)).To(Succeed())
	return token
}

// waitHandled waits until the reconcile asked for with token has finished.
func waitHandled(t *testing.T, obj *sourcev1.HelmRepository, token string) *sourcev1.HelmRepository {
	t.Helper()
	got := &sourcev1.HelmRepository{}
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got)).To(Succeed())
		g.Expect(got.Status.LastHandledReconcileAt).To(Equal(token))
	}, timeout, 50*time.Millisecond).Should(Succeed())
	return got
}

func eventReasons(t *testing.T, ns string) []string {
	t.Helper()
	var list corev1.EventList
	NewWithT(t).Expect(env.Client.List(context.Background(), &list, client.InNamespace(ns))).To(Succeed())
	var reasons []string
	for _, e := range list.Items {
		reasons = append(reasons, e.Reason)
	}
	return reasons
}

func TestIndexIsStoredByDigestAndFollowsNewVersions(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	repo := helmtest.NewRepository(t, false)
	repo.Publish(t, helmtest.NewChart("app", "1.0.0", nil, nil))
	repo.Publish(t, helmtest.NewChart("db", "0.1.0", nil, nil))

	obj := newHelmRepository(ns, "charts", repo.URL)
	g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	got := waitReady(t, obj, metav1.ConditionTrue, fluxmeta.SucceededReason)
	index := served(t, repo.URL)
	rev := digestOf(index)
	g.Expect(got.Status.Artifact.Revision).To(Equal(rev))
	g.Expect(got.Status.Artifact.Path).To(Equal(fmt.Sprintf("helmrepository/%s/charts/index-%s.yaml", ns, rev[len("sha256:"):])))
	g.Expect(download(t, got.Status.Artifact)).To(Equal(index), "the index is stored byte for byte")
	g.Expect(got.Status.URL).To(Equal(got.Status.Artifact.URL))
	g.Expect(conditions.IsTrue(got, sourcev1.ArtifactInStorageCondition)).To(BeTrue())
	g.Expect(got.Finalizers).To(ContainElement(sourcev1.SourceFinalizer))
	g.Expect(eventReasons(t, ns)).To(ContainElement(sourcev1.NewArtifactReason))
	cached, ok := indexes.Get(rev)
	g.Expect(ok).To(BeTrue(), "the parsed index is handed to the HelmChart cache")
	g.Expect(cached.Entries).To(HaveKey("app"))

	first := got.Status.Artifact.DeepCopy()
	token := requestReconcile(t, got)
	got = waitHandled(t, obj, token)
	g.Expect(got.Status.Artifact).To(Equal(first), "an unchanged index is not stored again")

	repo.Publish(t, helmtest.NewChart("app", "1.1.0", nil, nil))
	requestReconcile(t, got)
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got)).To(Succeed())
		g.Expect(got.Status.Artifact.Revision).To(Equal(digestOf(served(t, repo.URL))))
	}, timeout, 50*time.Millisecond).Should(Succeed())
	g.Expect(got.Status.Artifact.Revision).NotTo(Equal(rev))

	dir := filepath.Join(store.BasePath(), "helmrepository", ns, "charts")
	g.Expect(env.Client.Delete(context.Background(), got)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got))
	}, timeout, 50*time.Millisecond).Should(BeTrue())
	_, err := os.Stat(dir)
	g.Expect(os.IsNotExist(err)).To(BeTrue(), "storage directory was not removed")
}

func TestCredentialsAndTLS(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	repo := helmtest.NewRepository(t, true)
	repo.Username, repo.Password = "flux", "s3cret"
	repo.Publish(t, helmtest.NewChart("app", "1.0.0", nil, nil))
	newSecret(t, ns, "auth", map[string][]byte{"username": []byte("flux"), "password": []byte("s3cret")})
	newSecret(t, ns, "wrong", map[string][]byte{"username": []byte("flux"), "password": []byte("nope")})
	newSecret(t, ns, "ca", map[string][]byte{"ca.crt": repo.CA()})
	newSecret(t, ns, "auth-and-ca", map[string][]byte{"username": []byte("flux"), "password": []byte("s3cret"), "ca.crt": repo.CA()})

	tests := []struct {
		name           string
		secret, cert   string
		ready          metav1.ConditionStatus
		reason, inText string
	}{
		{"basic auth and certSecretRef", "auth", "ca", metav1.ConditionTrue, fluxmeta.SucceededReason, "stored artifact"},
		{"TLS keys in secretRef", "auth-and-ca", "", metav1.ConditionTrue, fluxmeta.SucceededReason, "stored artifact"},
		{"no credentials", "", "ca", metav1.ConditionFalse, sourcev1.AuthenticationFailedReason, "401 Unauthorized"},
		{"wrong password", "wrong", "ca", metav1.ConditionFalse, sourcev1.AuthenticationFailedReason, "spec.secretRef"},
		{"unknown CA", "auth", "", metav1.ConditionFalse, sourcev1.IndexationFailedReason, "certificate"},
		{"missing secret", "absent", "ca", metav1.ConditionFalse, sourcev1.AuthenticationFailedReason, "absent"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			obj := newHelmRepository(ns, fmt.Sprintf("repo-%d", i), repo.URL, func(o *sourcev1.HelmRepository) {
				if tt.secret != "" {
					o.Spec.SecretRef = &fluxmeta.LocalObjectReference{Name: tt.secret}
				}
				if tt.cert != "" {
					o.Spec.CertSecretRef = &fluxmeta.LocalObjectReference{Name: tt.cert}
				}
			})
			NewWithT(t).Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
			got := waitReady(t, obj, tt.ready, tt.reason, tt.inText)
			NewWithT(t).Expect(conditions.GetMessage(got, fluxmeta.ReadyCondition)).NotTo(ContainSubstring("s3cret"))
		})
	}
}

func TestBadIndexKeepsThePreviousArtifact(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	repo := helmtest.NewRepository(t, false)
	repo.Publish(t, helmtest.NewChart("app", "1.0.0", nil, nil))
	obj := newHelmRepository(ns, "charts", repo.URL)
	g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	good := waitReady(t, obj, metav1.ConditionTrue, "")

	tests := []struct {
		name   string
		index  []byte
		url    string
		reason string
		text   string
	}{
		{"not YAML", []byte("<!DOCTYPE html>\n<html><body>It works!</body></html>\n"), "", sourcev1.IndexationFailedReason, "failed to parse the index"},
		{"YAML but not an index", []byte("kind: ConfigMap\nmetadata:\n  name: x\n"), "", sourcev1.IndexationFailedReason, "no API version"},
		{"not found", nil, repo.URL + "/nothing", sourcev1.IndexationFailedReason, "404 Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			repo.SetIndex(tt.index)
			cur := &sourcev1.HelmRepository{}
			g.Eventually(func() error {
				if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), cur); err != nil {
					return err
				}
				if tt.url != "" {
					cur.Spec.URL = tt.url
					return env.Client.Update(context.Background(), cur)
				}
				requestReconcile(t, cur)
				return nil
			}, timeout, 50*time.Millisecond).Should(Succeed())
			got := waitReady(t, obj, metav1.ConditionFalse, tt.reason, tt.text)
			g.Expect(conditions.IsTrue(got, sourcev1.FetchFailedCondition)).To(BeTrue())
			g.Expect(got.Status.Artifact).To(Equal(good.Status.Artifact), "the previous artifact must stay")
			download(t, got.Status.Artifact)
			g.Expect(eventReasons(t, ns)).To(ContainElement(tt.reason))
		})
	}
}

func TestOCITypeIsAStaticObject(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	repo := helmtest.NewRepository(t, false)
	repo.Publish(t, helmtest.NewChart("app", "1.0.0", nil, nil))
	obj := newHelmRepository(ns, "charts", repo.URL)
	g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	got := waitReady(t, obj, metav1.ConditionTrue, "")
	dir := filepath.Join(store.BasePath(), "helmrepository", ns, "charts")
	g.Expect(dir).To(BeADirectory())

	got.Spec.Type = sourcev1.HelmRepositoryTypeOCI
	got.Spec.URL = "oci://registry.invalid/charts"
	g.Expect(env.Client.Update(context.Background(), got)).To(Succeed())
	got = waitReady(t, obj, metav1.ConditionTrue, fluxmeta.SucceededReason, "static object")
	g.Expect(got.Status.Artifact).To(BeNil())
	g.Expect(conditions.Has(got, sourcev1.ArtifactInStorageCondition)).To(BeFalse())
	g.Expect(dir).NotTo(BeADirectory(), "artifacts of the former type are removed")

	bad := newHelmRepository(ns, "bad", "https://charts.invalid", func(o *sourcev1.HelmRepository) { o.Spec.Type = sourcev1.HelmRepositoryTypeOCI })
	g.Expect(env.Client.Create(context.Background(), bad)).To(Succeed())
	waitReady(t, bad, metav1.ConditionFalse, sourcev1.URLInvalidReason)
	wrongType := newHelmRepository(ns, "wrong-type", "oci://registry.invalid/charts")
	g.Expect(env.Client.Create(context.Background(), wrongType)).To(Succeed())
	got = waitReady(t, wrongType, metav1.ConditionFalse, sourcev1.URLInvalidReason)
	g.Expect(conditions.IsTrue(got, fluxmeta.StalledCondition)).To(BeTrue())
}

func TestSuspendStopsFetching(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	repo := helmtest.NewRepository(t, false)
	repo.Publish(t, helmtest.NewChart("app", "1.0.0", nil, nil))
	obj := newHelmRepository(ns, "charts", repo.URL)
	g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	got := waitReady(t, obj, metav1.ConditionTrue, "")
	got.Spec.Suspend = true
	g.Expect(env.Client.Update(context.Background(), got)).To(Succeed())
	fetches := repo.Hits("/index.yaml")
	repo.Publish(t, helmtest.NewChart("app", "2.0.0", nil, nil))
	requestReconcile(t, got)
	g.Consistently(func() int { return repo.Hits("/index.yaml") }, time.Second, 100*time.Millisecond).Should(Equal(fetches))
}
