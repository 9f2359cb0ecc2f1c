package tenancy

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// victimNamespace is tenant B: the tenant the others must not reach. It is
// fixed so a tenant's repository can name it.
const victimNamespace = "tenant-b"

const timeout = 90 * time.Second

// probeChart renders one object the values choose: a ConfigMap (named
// .Values.name, in .Values.namespace when set) or, with .Values.clusterRole,
// a ClusterRole; so one chart probes every place a release can write to.
var probeChart = map[string]string{
	"charts/probe/Chart.yaml":  "apiVersion: v2\nname: probe\nversion: 0.1.0\n",
	"charts/probe/values.yaml": "owner: chart\n",
	"charts/probe/templates/object.yaml": `{{- if .Values.clusterRole }}
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ .Values.clusterRole }}
rules: []
{{- else }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Values.name | default .Release.Name }}
  {{- with .Values.namespace }}
  namespace: {{ . }}
  {{- end }}
data:
  owner: {{ .Values.owner | quote }}
{{- end }}
`,
}

// newTenant creates a tenant namespace whose "default" ServiceAccount may
// do anything in that namespace and nothing outside it, the way a platform
// admin onboards a tenant.
func newTenant(t testing.TB, name string) {
	t.Helper()
	ctx := context.Background()
	c := testCluster.Client
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: tenantServiceAccount}},
		&rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "tenant-admin"},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}},
		},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "tenant-admin"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "tenant-admin"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: name, Name: tenantServiceAccount}},
		},
	} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
		}
	}
}

var attackers atomic.Int32

// newAttacker creates a fresh tenant A for one test, with its own
// GitRepository "repo" (Ready) holding files plus the probe chart.
func newAttacker(t *testing.T, files map[string]string) string {
	t.Helper()
	ns := fmt.Sprintf("tenant-a-%d", attackers.Add(1))
	newTenant(t, ns)
	commitAndSync(t, ns, files)
	return ns
}

// commitAndSync commits files and the probe chart to the tenant's
// repository and waits for its GitRepository "repo" to be Ready.
func commitAndSync(t testing.TB, ns string, files map[string]string) {
	t.Helper()
	all := map[string]string{}
	for k, v := range probeChart {
		all[k] = v
	}
	for k, v := range files {
		all[k] = v
	}
	repo := ns + "/repo.git"
	if _, err := gitSrv.Commit(repo, "main", "tenant files", all); err != nil {
		t.Fatal(err)
	}
	apply(t, fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: repo
  namespace: %s
spec:
  interval: 1h
  url: %s
  ref:
    branch: main
`, ns, gitSrv.URL(repo)))
	expectReady(t, "GitRepository", ns, "repo")
}

var (
	victimOnce  sync.Once
	victimReady bool
)

// victim sets up tenant B once: Secrets a tenant must not read (a SOPS age
// key, substitution variables, Helm values and an admin kubeconfig), a
// ConfigMap a tenant must not change, and a GitRepository, a Kustomization
// and a HelmRelease (with its HelmChart) that a tenant must not reference,
// all Ready.
func victim(t *testing.T) {
	t.Helper()
	// A Fatal inside Do ends it too; later tests then fail here at once.
	victimOnce.Do(func() { setupVictim(t); victimReady = true })
	if !victimReady {
		t.Fatalf("setting up tenant %s failed in an earlier test", victimNamespace)
	}
}

func setupVictim(t *testing.T) {
	ns := victimNamespace
	newTenant(t, ns)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	admin, err := os.ReadFile(testCluster.KubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, data := range map[string]map[string]string{
		"sops-keys":  {"identity.agekey": id.String() + "\n"},
		"vars":       {"greeting": "from-b"},
		"values":     {"values.yaml": "owner: b\n"},
		"kubeconfig": {"value": string(admin)},
	} {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: data}
		if err := testCluster.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "b-config"}, Data: map[string]string{"owner": "b"}}
	if err := testCluster.Client.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	commitAndSync(t, ns, map[string]string{
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b-app\ndata:\n  owner: b\n",
	})
	apply(t, kustomization(ns, "b-app", "./app", "  targetNamespace: "+ns))
	apply(t, helmRelease(ns, "b-hello", "  values:\n    owner: b"))
	expectReady(t, "Kustomization", ns, "b-app")
	expectReady(t, "HelmRelease", ns, "b-hello")
	expectReady(t, "HelmChart", ns, ns+"-b-hello")
}

// apply applies manifests as the cluster admin, the way a tenant's own
// manifests reach the cluster (strict validation: a misspelt field fails
// here, not silently later).
func apply(t testing.TB, manifests string) {
	t.Helper()
	if _, err := testCluster.Kubectl([]byte(manifests), "apply", "--validate=strict", "-f", "-"); err != nil {
		t.Fatal(err)
	}
}

// kustomization is a Kustomization of the namespace's GitRepository "repo"
// at path, with spec lines appended (indented two spaces).
func kustomization(ns, name, path string, spec ...string) string {
	return fmt.Sprintf(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: %s
  namespace: %s
spec:
  interval: 1h
  prune: true
  path: %s
  sourceRef:
    kind: GitRepository
    name: repo
%s
`, name, ns, path, strings.Join(spec, "\n"))
}

// helmRelease is a HelmRelease of the probe chart from the namespace's
// GitRepository "repo", with spec lines appended; a spec line starting with
// "  chartRef:" replaces the chart template.
func helmRelease(ns, name string, spec ...string) string {
	chart := `  chart:
    spec:
      chart: ./charts/probe
      sourceRef:
        kind: GitRepository
        name: repo`
	for _, s := range spec {
		if strings.HasPrefix(s, "  chartRef:") || strings.HasPrefix(s, "  chart:") {
			chart = ""
		}
	}
	return fmt.Sprintf(`apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: %s
  namespace: %s
spec:
  interval: 1h
%s
%s
`, name, ns, chart, strings.Join(spec, "\n"))
}

// gvks are the kinds group/version/kind by the short kind name tests use.
var gvks = map[string]schema.GroupVersionKind{
	"ConfigMap":      {Version: "v1", Kind: "ConfigMap"},
	"Secret":         {Version: "v1", Kind: "Secret"},
	"ServiceAccount": {Version: "v1", Kind: "ServiceAccount"},
	"Role":           {Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"},
	"RoleBinding":    {Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"},
	"GitRepository":  {Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "GitRepository"},
	"HelmChart":      {Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "HelmChart"},
	"Kustomization":  {Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Kind: "Kustomization"},
	"HelmRelease":    {Group: "helm.toolkit.fluxcd.io", Version: "v2", Kind: "HelmRelease"},
}

func get(ctx context.Context, kind, ns, name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvks[kind])
	return u, testCluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, u)
}

// ready returns the object's Ready condition status and message, "" when it
// has none yet.
func ready(g Gomega, kind, ns, name string) (status, message string) {
	u, err := get(context.Background(), kind, ns, name)
	g.Expect(err).NotTo(HaveOccurred())
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Ready" {
			s, _ := m["status"].(string)
			msg, _ := m["message"].(string)
			return s, msg
		}
	}
	return "", ""
}

func expectReady(t testing.TB, kind, ns, name string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		status, msg := ready(g, kind, ns, name)
		g.Expect(status).To(Equal("True"), "%s %s/%s: %s", kind, ns, name, msg)
	}, timeout, 200*time.Millisecond).Should(Succeed())
}

// expectRefused waits until the object is Ready=False with a message that
// holds every one of want, and returns the message.
func expectRefused(t testing.TB, kind, ns, name string, want ...string) string {
	t.Helper()
	var msg string
	NewWithT(t).Eventually(func(g Gomega) {
		var status string
		status, msg = ready(g, kind, ns, name)
		g.Expect(status).To(Equal("False"), "%s %s/%s: %s", kind, ns, name, msg)
		for _, w := range want {
			g.Expect(msg).To(ContainSubstring(w), "%s %s/%s", kind, ns, name)
		}
	}, timeout, 200*time.Millisecond).Should(Succeed())
	return msg
}

// snapshot records every object of tenant B by kind and name with its
// resourceVersion, which any write changes; events are left out, they are
// not the tenant's state.
func snapshot(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for kind, gvk := range gvks {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := testCluster.Client.List(context.Background(), list, client.InNamespace(victimNamespace)); err != nil {
			t.Fatal(err)
		}
		for _, item := range list.Items {
			out[kind+"/"+item.GetName()] = item.GetResourceVersion()
		}
	}
	return out
}

// expectVictimUnchanged checks tenant B holds exactly the objects of
// before, none of them written since.
func expectVictimUnchanged(t testing.TB, before map[string]string) {
	t.Helper()
	g := NewWithT(t)
	// A snapshot that missed B's objects would compare equal for nothing.
	g.Expect(before).To(And(HaveKey("ConfigMap/b-config"), HaveKey("Secret/kubeconfig"), HaveKey("HelmChart/"+victimNamespace+"-b-hello")))
	g.Expect(snapshot(t)).To(Equal(before), "tenant %s changed", victimNamespace)
}

// expectAbsent checks the object does not exist.
func expectAbsent(t testing.TB, obj client.Object) {
	t.Helper()
	err := testCluster.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
	if !apierrors.IsNotFound(err) {
		t.Errorf("%T %s exists (or could not be read: %v)", obj, client.ObjectKeyFromObject(obj), err)
	}
}

// impersonated is the user name the controllers act as for a tenant's
// objects; an RBAC refusal names it.
func impersonated(ns string) string {
	return fmt.Sprintf("system:serviceaccount:%s:%s", ns, tenantServiceAccount)
}
