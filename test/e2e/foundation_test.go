package e2e

import (
	"context"
	"net/http"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestControllersServeHealthAndMetrics checks each controller process
// answers its probes and metrics on the Flux flag addresses it was given.
func TestControllersServeHealthAndMetrics(t *testing.T) {
	for name, p := range controllers {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			for _, url := range []string{
				"http://" + p.HealthAddr + "/healthz",
				"http://" + p.HealthAddr + "/readyz",
				"http://" + p.MetricsAddr + "/metrics",
			} {
				resp, err := http.Get(url)
				g.Expect(err).NotTo(HaveOccurred())
				_ = resp.Body.Close()
				g.Expect(resp.StatusCode).To(Equal(http.StatusOK), url)
			}
		})
	}
}

func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-"}}
	if err := testCluster.Client.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = testCluster.Client.Delete(context.Background(), ns) })
	return ns.Name
}
