package hygiene

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/test/hygiene/scan"
	"github.com/ferrycd/ferry/test/suite"
)

// secrets are every secret value of one run, by name.
type secrets map[string]string

func (s secrets) list() []scan.Secret {
	var out []scan.Secret
	for name, v := range s {
		out = append(out, scan.Secret{Name: name, Value: v})
	}
	return out
}

// TestNoSecretInEventsConditionsLogsMetricsOrPayloads runs every kind of
// credential through the controllers, in a working and a failing form, and
// then scans everything the controllers expose for the values.
func TestNoSecretInEventsConditionsLogsMetricsOrPayloads(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := suite.NewNamespace(t, testCluster.Client, "hygiene-")
	good, wrong := ageKey(t), ageKey(t)
	sec := secrets{
		"git password":           gitPassword,
		"wrong git password":     secretValue("wrong-git-password"),
		"age identity":           good.String(),
		"wrong age identity":     wrong.String(),
		"decrypted db password":  secretValue("db-password"),
		"substituted token":      secretValue("subst-token"),
		"helm values api key":    secretValue("helm-api-key"),
		"malformed helm values":  secretValue("bad-values"),
		"slack token":            secretValue("slack-token"),
		"wrong slack token":      secretValue("wrong-slack-token"),
		"webhook path":           secretValue("hook-path"),
		"wrong webhook path":     secretValue("wrong-hook-path"),
		"webhook api key header": secretValue("hook-api-key"),
		"receiver token":         secretValue("receiver-token"),
		"wrong receiver token":   secretValue("wrong-receiver-token"),
		"drifted db password":    secretValue("drifted-db-password"),
		"drifted api key":        secretValue("drifted-api-key"),
		"wrong kubeconfig token": secretValue("wrong-kubeconfig-token"),
		"proxy password":         secretValue("proxy-password"),
		// A decrypted value that post-build substitution cannot parse.
		"unterminated decrypted value": "${" + secretValue("unterminated"),
	}
	sink := newSink(sec["slack token"], sec["webhook path"], sec["webhook api key header"])
	defer sink.Close()

	// Notifications first, so the Alerts see the sources' first events.
	for name, data := range map[string]map[string]string{
		"git-auth":         {"username": gitUser, "password": sec["git password"]},
		"git-wrong":        {"username": gitUser, "password": sec["wrong git password"]},
		"sops-age":         {"identity.agekey": sec["age identity"] + "\n"},
		"sops-wrong":       {"identity.agekey": sec["wrong age identity"] + "\n"},
		"vars":             {"SUBST_TOKEN": sec["substituted token"]},
		"helm-values":      {"values.yaml": "apiKey: " + sec["helm values api key"] + "\n"},
		"helm-values-bad":  {"values.yaml": sec["malformed helm values"] + "\n"},
		"slack-token":      {"token": sec["slack token"]},
		"slack-wrong":      {"token": sec["wrong slack token"]},
		"webhook":          {"address": sink.URL + "/hooks/" + sec["webhook path"], "headers": "X-Api-Key: " + sec["webhook api key header"]},
		"receiver-token":   {"token": sec["receiver token"]},
		"kubeconfig-wrong": {"value": kubeconfig(sec["wrong kubeconfig token"])},
		// A proxy that is not there: every post fails at connecting.
		"webhook-proxy": {"address": sink.URL + "/hooks/" + sec["webhook path"],
			"proxy": "http://proxy-user:" + sec["proxy password"] + "@" + closedAddr(t)},
		"webhook-wrong": {"address": sink.URL + "/hooks/" + sec["wrong webhook path"], "headers": "X-Api-Key: " + sec["webhook api key header"]},
	} {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: data}
		g.Expect(testCluster.Client.Create(ctx, s)).To(Succeed())
	}
	for _, p := range []struct{ name, typ, secret, extra string }{
		{"slack", "slack", "slack-token", "  address: " + sink.URL + "/slack\n  channel: general\n"},
		{"slack-wrong", "slack", "slack-wrong", "  address: " + sink.URL + "/slack\n  channel: general\n"},
		{"webhook", "generic", "webhook", ""},
		{"webhook-wrong", "generic", "webhook-wrong", ""},
		{"webhook-proxy", "generic", "webhook-proxy", ""},
	} {
		apply(t, fmt.Sprintf(`apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  type: %[3]s
  secretRef:
    name: %[4]s
%[5]s---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  providerRef:
    name: %[1]s
  eventSeverity: info
  eventSources:
  - kind: GitRepository
    name: '*'
  - kind: HelmChart
    name: '*'
  - kind: Kustomization
    name: '*'
  - kind: HelmRelease
    name: '*'
`, p.name, ns, p.typ, p.secret, p.extra))
	}

	repo := ns + "/app.git"
	_, err := gitSrv.Commit(repo, "main", "app", map[string]string{
		"app/db.enc.yaml": encryptSecret(t, fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: %s\n",
			sec["decrypted db password"]), good.Recipient()),
		"app/subst.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: subst\nstringData:\n  token: ${SUBST_TOKEN}\n",
		"bad-subst/weird.enc.yaml": encryptSecret(t, fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: weird\nstringData:\n  password: %q\n",
			sec["unterminated decrypted value"]), good.Recipient()),
		"app/cm.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  plain: value\n",
		"charts/hello/Chart.yaml": "apiVersion: v2\nname: hello\nversion: 0.1.0\n",
		"charts/hello/templates/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-api\n" +
			"stringData:\n  apiKey: {{ .Values.apiKey | quote }}\n",
	})
	g.Expect(err).NotTo(HaveOccurred())
	apply(t, gitRepository(ns, "app", gitSrv.URL(repo), "git-auth")+"---\n"+gitRepository(ns, "app-wrong-password", gitSrv.URL(repo), "git-wrong"))
	apply(t, strings.Join([]string{
		kustomization(ns, "app", "sops-age"), kustomization(ns, "app-wrong-key", "sops-wrong"),
		strings.Replace(kustomization(ns, "bad-subst", "sops-age"), "path: ./app", "path: ./bad-subst", 1),
		helmRelease(ns, "hello", "helm-values"), helmRelease(ns, "hello-bad-values", "helm-values-bad"),
		withKubeConfig(kustomization(ns, "app-kubeconfig", "sops-age")), withKubeConfig(helmRelease(ns, "hello-kubeconfig", "helm-values")),
	}, "---\n"))

	// Each credential worked where it was right...
	expectReady(t, "GitRepository", ns, "app", "True", "")
	expectReady(t, "Kustomization", ns, "app", "True", "Applied revision")
	expectReady(t, "HelmRelease", ns, "hello", "True", "")
	for name, want := range map[string]map[string]string{
		"db":        {"password": sec["decrypted db password"]},
		"subst":     {"token": sec["substituted token"]},
		"hello-api": {"apiKey": sec["helm values api key"]},
	} {
		s := &corev1.Secret{}
		g.Expect(testCluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s)).To(Succeed())
		for k, v := range want {
			g.Expect(string(s.Data[k])).To(Equal(v), "Secret %s key %s", name, k)
		}
	}
	// ...and failed, saying why, where it was wrong.
	for _, c := range []struct{ kind, name, why string }{
		{"GitRepository", "app-wrong-password", "authentication"},
		{"Kustomization", "app-wrong-key", "decrypt"},
		{"Kustomization", "bad-subst", "variable substitution in Secret/" + ns + "/weird failed"},
		{"HelmRelease", "hello-bad-values", "values"},
		{"Kustomization", "app-kubeconfig", "provide credentials"},
		{"HelmRelease", "hello-kubeconfig", "Unauthorized"},
	} {
		t.Logf("%s %s: %s", c.kind, c.name, expectReady(t, c.kind, ns, c.name, "False", c.why))
	}
	expectDriftReported(t, ns, map[string]map[string]string{
		"db":        {"password": sec["drifted db password"]},
		"hello-api": {"apiKey": sec["drifted api key"]},
	})
	expectReceiver(t, ns, sec["receiver token"], sec["wrong receiver token"])
	g.Eventually(func(g Gomega) {
		for _, kind := range []string{"slack", "webhook"} {
			accepted, refused := sink.counts(kind)
			g.Expect(accepted).To(BeNumerically(">", 0), "%s notifications delivered", kind)
			g.Expect(refused).To(BeNumerically(">", 0), "%s notifications refused", kind)
		}
	}, timeout, 200*time.Millisecond).Should(Succeed())
	// The refusals come back as errors the notification-controller reports.
	g.Eventually(func(g Gomega) {
		out, err := os.ReadFile(env.Process("notification-controller").LogPath)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(string(out)).To(And(ContainSubstring("invalid_auth"), ContainSubstring("404"), ContainSubstring("proxyconnect")))
	}, timeout, 200*time.Millisecond).Should(Succeed())

	scanner, err := scan.New(sec.list()...)
	g.Expect(err).NotTo(HaveOccurred())
	// The scan sees the values where they belong: the applied Secrets.
	for _, name := range []string{"db", "hello-api"} {
		s := &corev1.Secret{}
		g.Expect(testCluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s)).To(Succeed())
		g.Expect(scanner.Scan("Secret "+name, jsonOf(t, s))).NotTo(BeEmpty(), "the scanner must find the value in Secret %s", name)
	}
	findings, scanned := scanExposed(t, scanner, sink)
	t.Logf("scanned %v", scanned)
	g.Expect(scanned).To(HaveKeyWithValue("events", BeNumerically(">=", 5)))
	g.Expect(scanned).To(HaveKeyWithValue("payloads", BeNumerically(">", 3)))
	g.Expect(findings).To(BeEmpty())
}

// scanExposed scans everything the controllers expose and returns what it
// found, with how many texts of each kind it read.
func scanExposed(t *testing.T, s *scan.Scanner, sink *sink) ([]string, map[string]int) {
	t.Helper()
	var found []string
	scanned := map[string]int{}
	add := func(kind, source string, text []byte) {
		scanned[kind]++
		for _, f := range s.Scan(source, text) {
			found = append(found, f.String())
		}
	}
	events := &corev1.EventList{}
	NewWithT(t).Expect(testCluster.Client.List(context.Background(), events)).To(Succeed())
	for _, e := range events.Items {
		add("events", "Event "+e.Namespace+"/"+e.Name, jsonOf(t, e))
	}
	for _, gvk := range fluxKinds {
		for _, obj := range list(t, gvk) {
			add("flux objects", gvk.Kind+" "+obj.GetNamespace()+"/"+obj.GetName(), jsonOf(t, obj.Object))
		}
	}
	for _, p := range env.Procs {
		out, err := os.ReadFile(p.LogPath)
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		add("logs", p.Name+" log", out)
		add("metrics", p.Name+" /metrics", get(t, "http://"+p.MetricsAddr+"/metrics"))
	}
	for i, body := range sink.payloads() {
		add("payloads", fmt.Sprintf("notification payload %d", i), []byte(body))
	}
	return found, scanned
}

func gitRepository(ns, name, url, secret string) string {
	return fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: %s
  namespace: %s
spec:
  interval: 1h
  url: %s
  ref:
    branch: main
  secretRef:
    name: %s
`, name, ns, url, secret)
}

// kustomization applies ./app of GitRepository "app", decrypting with the
// keys of Secret keys and substituting the variables of Secret vars; drift
// is reported, not corrected, so a drifted Secret shows in its status.
func kustomization(ns, name, keys string) string {
	return fmt.Sprintf(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  interval: 1h
  prune: true
  path: ./app
  targetNamespace: %[2]s
  sourceRef:
    kind: GitRepository
    name: app
  driftDetection:
    mode: warn
  decryption:
    provider: sops
    secretRef:
      name: %[3]s
  postBuild:
    substituteFrom:
    - kind: Secret
      name: vars
`, name, ns, keys)
}

// helmRelease installs the hello chart of GitRepository "app" with the
// values of Secret values, reporting drift.
func helmRelease(ns, name, values string) string {
	return fmt.Sprintf(`apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: %s
  namespace: %s
spec:
  interval: 1h
  chart:
    spec:
      chart: ./charts/hello
      sourceRef:
        kind: GitRepository
        name: app
  driftDetection:
    mode: warn
  valuesFrom:
  - kind: Secret
    name: %s
`, name, ns, values)
}

// expectDriftReported changes the applied Secrets in the cluster to new
// secret values and waits until the Kustomization and the HelmRelease
// report the drift, which names objects and fields and must not carry the
// values, old or new.
func expectDriftReported(t *testing.T, ns string, drifted map[string]map[string]string) {
	t.Helper()
	ctx := context.Background()
	for name, data := range drifted {
		s := &corev1.Secret{}
		NewWithT(t).Expect(testCluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s)).To(Succeed())
		patch := client.MergeFrom(s.DeepCopy())
		for k, v := range data {
			s.Data[k] = []byte(v)
		}
		NewWithT(t).Expect(testCluster.Client.Patch(ctx, s, patch)).To(Succeed())
	}
	for kind, name := range map[string]string{"Kustomization": "app", "HelmRelease": "hello"} {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(kindGVK(t, kind))
		u.SetNamespace(ns)
		u.SetName(name)
		suite.RequestReconcile(t, testCluster.Client, u, timeout)
		NewWithT(t).Eventually(func(g Gomega) {
			status, msg := condition(g, kindGVK(t, kind), ns, name, "Drifted")
			g.Expect(status).To(Equal("True"), "%s %s: %s", kind, name, msg)
			t.Logf("%s %s drift: %s", kind, name, msg)
		}, timeout, 200*time.Millisecond).Should(Succeed())
	}
}

// expectReceiver sends a GitHub push to a Receiver signed with the wrong
// token, which is refused, then with the right one, which is taken.
func expectReceiver(t *testing.T, ns, token, wrongToken string) {
	t.Helper()
	apply(t, fmt.Sprintf(`apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata:
  name: push
  namespace: %s
spec:
  type: github
  events: ["push"]
  secretRef:
    name: receiver-token
  resources:
  - kind: GitRepository
    name: app
`, ns))
	var path string
	NewWithT(t).Eventually(func(g Gomega) {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(kindGVK(t, "Receiver"))
		g.Expect(testCluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "push"}, u)).To(Succeed())
		path, _, _ = unstructured.NestedString(u.Object, "status", "webhookPath")
		g.Expect(path).NotTo(BeEmpty())
	}, timeout, 200*time.Millisecond).Should(Succeed())
	body := []byte(`{"ref":"refs/heads/main","repository":{"full_name":"org/app"}}`)
	for key, want := range map[string]int{wrongToken: http.StatusUnauthorized, token: http.StatusOK} {
		mac := hmac.New(sha256.New, []byte(key))
		mac.Write(body)
		req, err := http.NewRequest(http.MethodPost, "http://"+env.Addrs.Receiver+path, bytes.NewReader(body))
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		NewWithT(t).Expect(resp.StatusCode).To(Equal(want))
	}
}

// withKubeConfig makes a Kustomization or HelmRelease manifest apply
// through Secret kubeconfig-wrong.
func withKubeConfig(manifest string) string {
	return strings.Replace(manifest, "spec:\n", "spec:\n  kubeConfig:\n    secretRef:\n      name: kubeconfig-wrong\n", 1)
}

// kubeconfig is a kubeconfig for the test cluster that presents token, one
// the API server does not know.
func kubeconfig(token string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: tenant
  user:
    token: %s
contexts:
- name: default
  context:
    cluster: local
    user: tenant
current-context: default
`, testCluster.Config.Host, base64.StdEncoding.EncodeToString(testCluster.Config.CAData), token)
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}
