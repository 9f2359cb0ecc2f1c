package suite

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// NewNamespace creates a namespace, named from prefix, for one test: tests
// share the suite's cluster and must not see each other's objects.
func NewNamespace(t testing.TB, c client.Client, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix}}
	if err := c.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// Download fetches an artifact over HTTP the way a consumer does, checks that
// it is served and has the digest its status claims, and returns its bytes.
func Download(t testing.TB, a *fluxmeta.Artifact) []byte {
	t.Helper()
	return DownloadG(NewWithT(t), a)
}

// DownloadG is Download reporting through g, for use inside Eventually: an
// artifact can be replaced between reading its status and fetching it.
func DownloadG(g Gomega, a *fluxmeta.Artifact) []byte {
	resp, err := http.Get(a.URL)
	g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	data, err := io.ReadAll(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(fmt.Sprintf("sha256:%x", sha256.Sum256(data))).To(Equal(a.Digest))
	return data
}

// RequestReconcile asks for a reconcile of obj with a fresh token, as
// `flux reconcile` does, and returns the token. It patches the latest copy
// and retries, since the controller may be writing the object's status at the
// same time; obj itself is not changed.
func RequestReconcile(t testing.TB, c client.Client, obj client.Object, timeout time.Duration) string {
	t.Helper()
	token := time.Now().Format(time.RFC3339Nano)
	NewWithT(t).Eventually(func() error {
		cur := obj.DeepCopyObject().(client.Object)
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(obj), cur); err != nil {
			return err
		}
		patch := client.MergeFrom(cur.DeepCopyObject().(client.Object))
		cur.SetAnnotations(map[string]string{fluxmeta.ReconcileRequestAnnotation: token})
		return c.Patch(context.Background(), cur, patch)
	}, timeout, 50*time.Millisecond).Should(Succeed())
	return token
}
