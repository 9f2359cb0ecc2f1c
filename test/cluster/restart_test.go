package cluster

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestAPIServerRestartOnSameEtcd stops the kube-apiserver, checks it is
// really gone, starts it again and checks that what was stored before is
// still there and that the client made before the outage, with its
// credentials, works again; then a second outage works the same way and the
// cluster still stops cleanly.
func TestAPIServerRestartOnSameEtcd(t *testing.T) {
	g := NewWithT(t)
	c, err := Start(Options{})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { g.Expect(c.Stop()).To(Succeed()) })
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept", Namespace: "default"}, Data: map[string]string{"k": "v"}}
	g.Expect(c.Client.Create(ctx, cm)).To(Succeed())

	for range 2 {
		g.Expect(c.StopAPIServer()).To(Succeed())
		short, cancel := context.WithTimeout(ctx, 2*time.Second)
		g.Expect(c.Client.Get(short, client.ObjectKeyFromObject(cm), &corev1.ConfigMap{})).NotTo(Succeed(), "the API server should be down")
		cancel()
		g.Expect(c.StartAPIServer()).To(Succeed())
		got := &corev1.ConfigMap{}
		g.Expect(c.Client.Get(ctx, client.ObjectKeyFromObject(cm), got)).To(Succeed())
		g.Expect(got.Data).To(Equal(cm.Data))
	}
}
