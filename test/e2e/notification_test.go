package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
	notificationv1beta3 "github.com/ferrycd/ferry/pkg/apis/notification/v1beta3"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

// TestAlertAndReceiverThroughTheBinaries: a GitRepository's NewArtifact
// event travels from the source-controller process to the
// notification-controller process and out to a loopback webhook sink that an
// Alert selects; a push announced through a Receiver webhook is fetched at
// once instead of at the next (hour-long) interval.
func TestAlertAndReceiverThroughTheBinaries(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)

	var mu sync.Mutex
	var received []map[string]any
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev map[string]any
		if json.Unmarshal(body, &ev) == nil {
			mu.Lock()
			received = append(received, ev)
			mu.Unlock()
		}
	}))
	t.Cleanup(sink.Close)

	g.Expect(testCluster.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "sink", Namespace: ns},
		StringData: map[string]string{"address": sink.URL},
	})).To(Succeed())
	g.Expect(testCluster.Client.Create(ctx, &notificationv1beta3.Provider{
		ObjectMeta: metav1.ObjectMeta{Name: "sink", Namespace: ns},
		Spec: notificationv1beta3.ProviderSpec{Type: notificationv1beta3.GenericProvider,
			SecretRef: &fluxmeta.LocalObjectReference{Name: "sink"}},
	})).To(Succeed())
	g.Expect(testCluster.Client.Create(ctx, &notificationv1beta3.Alert{
		ObjectMeta: metav1.ObjectMeta{Name: "sources", Namespace: ns},
		Spec: notificationv1beta3.AlertSpec{
			ProviderRef:   fluxmeta.LocalObjectReference{Name: "sink"},
			EventSeverity: "info",
			EventSources:  []notificationv1.CrossNamespaceObjectReference{{Kind: sourcev1.GitRepositoryKind, Name: "*"}},
		},
	})).To(Succeed())

	repo := ns + "/app.git"
	_, err := gitSrv.Commit(repo, "main", "first", map[string]string{"a.yaml": "a"})
	g.Expect(err).NotTo(HaveOccurred())
	src := gitRepository(ns, "app", repo)
	g.Expect(testCluster.Client.Create(ctx, src)).To(Succeed())
	g.Eventually(func(g Gomega) {
		mu.Lock()
		defer mu.Unlock()
		var reasons []any
		for _, ev := range received {
			obj, _ := ev["involvedObject"].(map[string]any)
			if obj["name"] == "app" && obj["namespace"] == ns {
				reasons = append(reasons, ev["reason"])
			}
		}
		g.Expect(reasons).To(ContainElement(sourcev1.NewArtifactReason))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed(), "the Alert should deliver the NewArtifact event to the sink")

	// The Receiver.
	g.Expect(testCluster.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "webhook-token", Namespace: ns},
		StringData: map[string]string{"token": "s3cr3t-token"},
	})).To(Succeed())
	rcv := &notificationv1.Receiver{
		ObjectMeta: metav1.ObjectMeta{Name: "git-push", Namespace: ns},
		Spec: notificationv1.ReceiverSpec{
			Type:      notificationv1.GenericReceiver,
			SecretRef: fluxmeta.LocalObjectReference{Name: "webhook-token"},
			Resources: []notificationv1.CrossNamespaceObjectReference{{Kind: sourcev1.GitRepositoryKind, Name: "app"}},
		},
	}
	g.Expect(testCluster.Client.Create(ctx, rcv)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(testCluster.Client.Get(ctx, client.ObjectKeyFromObject(rcv), rcv)).To(Succeed())
		g.Expect(conditions.IsReady(rcv)).To(BeTrue())
		g.Expect(rcv.Status.WebhookPath).To(HavePrefix("/hook/"))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	head, err := gitSrv.Commit(repo, "main", "second", map[string]string{"a.yaml": "b"})
	g.Expect(err).NotTo(HaveOccurred())
	resp, err := http.Post("http://"+receiverAddr+"/hook/not-the-path", "application/json", nil)
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	g.Expect(resp.StatusCode).To(BeNumerically(">=", 400))

	start := time.Now()
	resp, err = http.Post("http://"+receiverAddr+rcv.Status.WebhookPath, "application/json", nil)
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	g.Eventually(func(g Gomega) {
		g.Expect(testCluster.Client.Get(ctx, client.ObjectKeyFromObject(src), src)).To(Succeed())
		g.Expect(src.Status.Artifact.Revision).To(Equal("main@sha1:" + head))
	}, 30*time.Second, 50*time.Millisecond).Should(Succeed())
	t.Logf("webhook to new artifact: %s", time.Since(start))
}
