package receiver

import (
	"context"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
)

const timeout = 30 * time.Second

func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "receiver-"}}
	if err := env.Client.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

func newReceiver(ns, name string, mutate ...func(*notificationv1.Receiver)) *notificationv1.Receiver {
	r := &notificationv1.Receiver{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: notificationv1.ReceiverSpec{
			Type:      notificationv1.GitHubReceiver,
			Events:    []string{"push"},
			SecretRef: fluxmeta.LocalObjectReference{Name: "webhook-token"},
			Resources: []notificationv1.CrossNamespaceObjectReference{{Kind: "GitRepository", Name: "webapp"}},
		},
	}
	for _, m := range mutate {
		m(r)
	}
	return r
}

func newSecret(ns, token string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "webhook-token"},
		StringData: map[string]string{"token": token}}
}

// waitReady waits until Ready has status and reason and, for True or a
// stall, the generation's reconcile finished; it returns the latest object.
func waitReady(t *testing.T, obj *notificationv1.Receiver, status metav1.ConditionStatus, reason string) *notificationv1.Receiver {
	t.Helper()
	got := &notificationv1.Receiver{}
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got)).To(Succeed())
		ready := conditions.Get(got, fluxmeta.ReadyCondition)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(status), ready.Message)
		g.Expect(ready.Reason).To(Equal(reason), ready.Message)
		// The patch helper writes conditions before the rest of the status,
		// so a finished reconcile is one whose observedGeneration landed too.
		if status == metav1.ConditionTrue || conditions.IsStalled(got) {
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		}
	}, timeout, 50*time.Millisecond).Should(Succeed())
	return got
}

func TestReceiverPublishesWebhookPath(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(env.Client.Create(ctx, newSecret(ns, "tok-1"))).To(Succeed())
	obj := newReceiver(ns, "gh")
	g.Expect(env.Client.Create(ctx, obj)).To(Succeed())

	got := waitReady(t, obj, metav1.ConditionTrue, fluxmeta.SucceededReason)
	g.Expect(got.Status.WebhookPath).To(Equal(got.GetWebhookPath("tok-1")))
	g.Expect(conditions.GetMessage(got, fluxmeta.ReadyCondition)).To(Equal("Receiver initialised for path: " + got.Status.WebhookPath))
	g.Expect(got.Finalizers).To(ContainElement(notificationv1.NotificationFinalizer))
	g.Expect(conditions.Has(got, fluxmeta.ReconcilingCondition)).To(BeFalse())

	// Rotating the token re-reconciles through the Secret watch.
	secret := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "webhook-token"}, secret)).To(Succeed())
	secret.Data["token"] = []byte("tok-2")
	g.Expect(env.Client.Update(ctx, secret)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(obj), got)).To(Succeed())
		g.Expect(got.Status.WebhookPath).To(Equal(got.GetWebhookPath("tok-2")))
	}, timeout, 50*time.Millisecond).Should(Succeed())

	g.Expect(env.Client.Delete(ctx, obj)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(obj), got))
	}, timeout, 50*time.Millisecond).Should(BeTrue())
}

// TestReceiverWithoutToken checks Ready=False/TokenNotFound with no path,
// and recovery as soon as the Secret appears.
func TestReceiverWithoutToken(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	obj := newReceiver(ns, "gh")
	g.Expect(env.Client.Create(ctx, obj)).To(Succeed())

	got := waitReady(t, obj, metav1.ConditionFalse, notificationv1.TokenNotFoundReason)
	g.Expect(got.Status.WebhookPath).To(BeEmpty())
	g.Expect(conditions.GetMessage(got, fluxmeta.ReadyCondition)).To(ContainSubstring("unable to read token from secret"))
	g.Expect(conditions.IsTrue(got, fluxmeta.ReconcilingCondition)).To(BeTrue())

	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "webhook-token"},
		StringData: map[string]string{"other": "x"}})).To(Succeed())
	got = waitReady(t, obj, metav1.ConditionFalse, notificationv1.TokenNotFoundReason)
	g.Eventually(func() string {
		_ = env.Client.Get(ctx, client.ObjectKeyFromObject(obj), got)
		return conditions.GetMessage(got, fluxmeta.ReadyCondition)
	}, timeout, 50*time.Millisecond).Should(ContainSubstring("has no 'token' key"))

	secret := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "webhook-token"}, secret)).To(Succeed())
	secret.Data = map[string][]byte{"token": []byte("tok")}
	g.Expect(env.Client.Update(ctx, secret)).To(Succeed())
	got = waitReady(t, obj, metav1.ConditionTrue, fluxmeta.SucceededReason)
	g.Expect(got.Status.WebhookPath).To(Equal(got.GetWebhookPath("tok")))
}

func TestReceiverInvalidResourcesStall(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(env.Client.Create(ctx, newSecret(ns, "tok"))).To(Succeed())
	obj := newReceiver(ns, "bad", func(r *notificationv1.Receiver) {
		r.Spec.Resources[0].MatchLabels = map[string]string{"team": "a"}
	})
	g.Expect(env.Client.Create(ctx, obj)).To(Succeed())
	got := waitReady(t, obj, metav1.ConditionFalse, notificationv1.ValidationFailedReason)
	g.Expect(conditions.IsStalled(got)).To(BeTrue())
	g.Expect(conditions.GetMessage(got, fluxmeta.ReadyCondition)).To(ContainSubstring("matchLabels needs name '*'"))
	g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
}

func TestValidateResources(t *testing.T) {
	for _, tc := range []struct {
		name    string
		res     notificationv1.CrossNamespaceObjectReference
		noCross bool
		wantErr bool
	}{
		{name: "named", res: notificationv1.CrossNamespaceObjectReference{Kind: "GitRepository", Name: "a"}},
		{name: "labels", res: notificationv1.CrossNamespaceObjectReference{Kind: "HelmRelease", Name: "*", MatchLabels: map[string]string{"a": "b"}}},
		{name: "old apiVersion", res: notificationv1.CrossNamespaceObjectReference{APIVersion: "kustomize.toolkit.fluxcd.io/v1beta2", Kind: "Kustomization", Name: "a"}},
		{name: "wrong group", res: notificationv1.CrossNamespaceObjectReference{APIVersion: "apps/v1", Kind: "Kustomization", Name: "a"}, wantErr: true},
		{name: "labels with name", res: notificationv1.CrossNamespaceObjectReference{Kind: "GitRepository", Name: "a", MatchLabels: map[string]string{"a": "b"}}, wantErr: true},
		{name: "all namespaces with name", res: notificationv1.CrossNamespaceObjectReference{Kind: "GitRepository", Name: "a", Namespace: "*"}, wantErr: true},
		{name: "other namespace", res: notificationv1.CrossNamespaceObjectReference{Kind: "GitRepository", Name: "a", Namespace: "other"}},
		{name: "other namespace locked", res: notificationv1.CrossNamespaceObjectReference{Kind: "GitRepository", Name: "a", Namespace: "other"}, noCross: true, wantErr: true},
		{name: "same namespace locked", res: notificationv1.CrossNamespaceObjectReference{Kind: "GitRepository", Name: "a", Namespace: "apps"}, noCross: true},
	} {
		obj := newReceiver("apps", "r", func(r *notificationv1.Receiver) {
			r.Spec.Resources = []notificationv1.CrossNamespaceObjectReference{tc.res}
		})
		if err := validateResources(obj, tc.noCross); (err != nil) != tc.wantErr {
			t.Errorf("%s: err = %v, wantErr %v", tc.name, err, tc.wantErr)
		}
	}
}

// TestGCRReceiverNeedsEmailAndAudience checks a gcr Receiver is Ready only
// once its Secret holds the email and audience its webhook checks Google's
// token against.
func TestGCRReceiverNeedsEmailAndAudience(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	g.Expect(env.Client.Create(ctx, newSecret(ns, "tok"))).To(Succeed())
	obj := newReceiver(ns, "gcr", func(r *notificationv1.Receiver) {
		r.Spec.Type = notificationv1.GCRReceiver
		r.Spec.Events = nil
	})
	g.Expect(env.Client.Create(ctx, obj)).To(Succeed())
	got := waitReady(t, obj, metav1.ConditionFalse, notificationv1.TokenNotFoundReason)
	g.Expect(conditions.GetMessage(got, fluxmeta.ReadyCondition)).To(ContainSubstring("'email' and 'audience'"))
	g.Expect(got.Status.WebhookPath).To(BeEmpty())

	secret := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "webhook-token"}, secret)).To(Succeed())
	secret.Data["email"] = []byte("pubsub@project.iam.gserviceaccount.com")
	secret.Data["audience"] = []byte("https://flux.example/hook")
	g.Expect(env.Client.Update(ctx, secret)).To(Succeed())
	got = waitReady(t, obj, metav1.ConditionTrue, fluxmeta.SucceededReason)
	g.Expect(got.Status.WebhookPath).To(Equal(got.GetWebhookPath("tok")))
}
