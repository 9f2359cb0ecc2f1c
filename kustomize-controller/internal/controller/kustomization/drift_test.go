package kustomization

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
)

// healTimeout bounds how long a hand edit may stay: far below the
// Kustomizations' one-hour interval, so only the drift watch can heal it.
const healTimeout = 10 * time.Second

func TestDriftIsHealedByTheWatchWithoutAReconcileRequest(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	publish(t, ns, "repo", "main@sha1:1", map[string]string{"cm.yaml": configMap("cm", "git")})
	k := newKustomization(ns, "app", "./", func(k *kustomizev1.Kustomization) { k.Spec.TargetNamespace = ns })
	g.Expect(env.Client.Create(context.Background(), k)).To(Succeed())
	got := waitApplied(t, k, "main@sha1:1")
	synced := conditions.Get(got, kustomizev1.DriftedCondition)
	g.Expect(synced).NotTo(BeNil())
	g.Expect(synced.Reason).To(Equal(kustomizev1.SyncedReason))

	// Three edits in a row: each is healed, and the controller's own
	// applies are not mistaken for edits (the object then stays put).
	for i := range 3 {
		editConfigMap(t, ns, "cm", setKey(fmt.Sprintf("edited by hand %d", i)))
		g.Eventually(func(g Gomega) {
			cm, err := getConfigMap(ns, "cm")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(cm.Data["key"]).To(Equal("git"))
		}, healTimeout, 50*time.Millisecond).Should(Succeed())
	}
	cm, err := getConfigMap(ns, "cm")
	g.Expect(err).NotTo(HaveOccurred())
	g.Consistently(func() string {
		now, _ := getConfigMap(ns, "cm")
		return now.ResourceVersion
	}, 2*time.Second, 200*time.Millisecond).Should(Equal(cm.ResourceVersion), "a healed object must not be applied again and again")

	// A deleted object comes back too.
	g.Expect(env.Client.Delete(context.Background(), cm)).To(Succeed())
	g.Eventually(func() error { _, err := getConfigMap(ns, "cm"); return err }, healTimeout, 50*time.Millisecond).Should(Succeed())

	final := &kustomizev1.Kustomization{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(k), final)).To(Succeed())
	g.Expect(final.Status.LastHandledReconcileAt).To(BeEmpty(), "no reconcile was requested")
}

func TestDriftInWarnModeIsReportedOnly(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	publish(t, ns, "repo", "main@sha1:1", map[string]string{
		"cm.yaml": configMap("cm", "git"), "other.yaml": configMap("other", "git"),
	})
	k := newKustomization(ns, "app", "./", func(k *kustomizev1.Kustomization) {
		k.Spec.TargetNamespace = ns
		k.Spec.DriftDetection = &kustomizev1.DriftDetection{Mode: kustomizev1.DriftDetectionWarn}
	})
	g.Expect(env.Client.Create(context.Background(), k)).To(Succeed())
	waitApplied(t, k, "main@sha1:1")

	editConfigMap(t, ns, "cm", setKey("edited by hand"))
	var drifted *metav1.Condition
	g.Eventually(func(g Gomega) {
		got := &kustomizev1.Kustomization{}
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(k), got)).To(Succeed())
		drifted = conditions.Get(got, kustomizev1.DriftedCondition)
		g.Expect(drifted).NotTo(BeNil())
		g.Expect(drifted.Status).To(Equal(metav1.ConditionTrue))
	}, healTimeout, 50*time.Millisecond).Should(Succeed())
	g.Expect(drifted.Reason).To(Equal(kustomizev1.OutOfSyncReason))
	g.Expect(drifted.Message).To(ContainSubstring("ConfigMap/" + ns + "/cm: .data.key"))
	g.Expect(drifted.Message).NotTo(ContainSubstring("other"), "only the edited object is listed")
	g.Expect(drifted.Message).NotTo(ContainSubstring("edited by hand"), "values are not reported")

	cm, err := getConfigMap(ns, "cm")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cm.Data["key"]).To(Equal("edited by hand"), "warn mode writes nothing")

	g.Eventually(func(g Gomega) {
		var events corev1.EventList
		g.Expect(env.Client.List(context.Background(), &events, client.InNamespace(ns))).To(Succeed())
		var found bool
		for _, e := range events.Items {
			if e.Reason == "DriftDetected" && e.Type == corev1.EventTypeWarning &&
				strings.Contains(e.Message, "ConfigMap/"+ns+"/cm: .data.key") {
				found = true
			}
		}
		g.Expect(found).To(BeTrue(), "a DriftDetected event names the object and field")
	}, healTimeout, 100*time.Millisecond).Should(Succeed())

	// Undoing the edit by hand brings the Kustomization back in sync.
	editConfigMap(t, ns, "cm", setKey("git"))
	g.Eventually(func(g Gomega) {
		got := &kustomizev1.Kustomization{}
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(k), got)).To(Succeed())
		c := conditions.Get(got, kustomizev1.DriftedCondition)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(kustomizev1.SyncedReason), c.Message)
	}, healTimeout, 50*time.Millisecond).Should(Succeed())
}

func TestUnchangedReconcileMakesNoDryRunAndNoWrite(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	// PodTemplates: a kind no other test applies, so the API server's
	// request counts for it are this test's alone.
	publish(t, ns, "repo", "main@sha1:1", map[string]string{
		"a.yaml": podTemplate("a"), "b.yaml": podTemplate("b"), "c.yaml": podTemplate("c"),
	})
	k := newKustomization(ns, "app", "./", func(k *kustomizev1.Kustomization) { k.Spec.TargetNamespace = ns })
	g.Expect(env.Client.Create(context.Background(), k)).To(Succeed())
	waitApplied(t, k, "main@sha1:1")

	// A requested reconcile of the same digest and build, nothing edited:
	// no dry-run, no apply. Repeated until the drift watch has listed its
	// objects (until then a reconcile must compare with the cluster).
	g.Eventually(func(g Gomega) {
		before := podTemplateWrites(t)
		handled := requestAndWait(t, k)
		g.Expect(handled.Status.LastAppliedRevision).To(Equal("main@sha1:1"))
		g.Expect(podTemplateWrites(t) - before).To(BeZero())
	}, timeout, 10*time.Millisecond).Should(Succeed())

	// The count is real: a changed build dry-runs and applies the one
	// object that changed, and nothing for the two applied as built.
	before := podTemplateWrites(t)
	publish(t, ns, "repo", "main@sha1:2", map[string]string{
		"a.yaml": podTemplate("a"), "b.yaml": podTemplate("b"), "c.yaml": podTemplate("c2"),
	})
	waitApplied(t, k, "main@sha1:2")
	g.Expect(podTemplateWrites(t)-before).To(Equal(2), "one dry-run and one apply")
}

// requestAndWait requests a reconcile of k and returns k once it was
// handled.
func requestAndWait(t *testing.T, k *kustomizev1.Kustomization) *kustomizev1.Kustomization {
	t.Helper()
	requestReconcile(t, k)
	got := &kustomizev1.Kustomization{}
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(k), got)).To(Succeed())
		g.Expect(got.Status.LastHandledReconcileAt).To(Equal(got.Annotations[fluxmeta.ReconcileRequestAnnotation]))
	}, timeout, 20*time.Millisecond).Should(Succeed())
	return got
}

// setKey sets a ConfigMap's key, the field the tests' manifests set.
func setKey(value string) func(*corev1.ConfigMap) {
	return func(cm *corev1.ConfigMap) { cm.Data["key"] = value }
}

func podTemplate(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: PodTemplate
metadata:
  name: %s
template:
  metadata:
    labels:
      app: %s
  spec:
    containers:
    - name: app
      image: example/app:1
`, name, name)
}

// podTemplateWrites sums the API server's apiserver_request_total for
// podtemplates over every verb but reads: dry-runs and applies alike.
func podTemplateWrites(t *testing.T) int {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := cs.RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "apiserver_request_total{") || !strings.Contains(line, `resource="podtemplates"`) {
			continue
		}
		if strings.Contains(line, `verb="GET"`) || strings.Contains(line, `verb="LIST"`) || strings.Contains(line, `verb="WATCH"`) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64)
		if err != nil {
			t.Fatal(err)
		}
		total += int(v)
	}
	return total
}
