package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/pending"
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

// conditionsObject is any Ferry object with status conditions.
type conditionsObject interface {
	client.Object
	conditions.Getter
}

// TestKindsNotYetReconciledSayUnknown checks that a kind whose reconciler has
// not landed is marked Ready=Unknown with a message saying so, and claims
// nothing more: observedGeneration stays at its -1 default.
func TestKindsNotYetReconciledSayUnknown(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	objs := []conditionsObject{
		&helmv2.HelmRelease{
			ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns},
			Spec: helmv2.HelmReleaseSpec{Interval: metav1.Duration{Duration: time.Minute},
				ChartRef: &helmv2.CrossNamespaceSourceReference{Kind: sourcev1.OCIRepositoryKind, Name: "app"}},
		},
	}
	for _, obj := range objs {
		NewWithT(t).Expect(testCluster.Client.Create(ctx, obj)).To(Succeed())
	}
	for _, obj := range objs {
		g := NewWithT(t)
		g.Eventually(func(g Gomega) {
			g.Expect(testCluster.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
			ready := conditions.Get(obj, meta.ReadyCondition)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionUnknown))
			g.Expect(ready.Reason).To(Equal(pending.ReasonNotImplemented))
			g.Expect(ready.Message).To(ContainSubstring("not reconciled yet"))
		}, 30*time.Second, 100*time.Millisecond).Should(Succeed(), "%T", obj)
	}

	out, err := testCluster.Kubectl(nil, "get", "helmreleases", "-n", ns)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	NewWithT(t).Expect(out).To(MatchRegexp(`app\s+\S+\s+Unknown\s+HelmRelease objects are not reconciled yet`))
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
