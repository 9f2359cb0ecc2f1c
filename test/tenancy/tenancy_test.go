package tenancy

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ownFiles are a tenant's manifests for its own namespace: a ConfigMap
// whose greeting comes from post-build substitution when asked for.
var ownFiles = map[string]string{
	"own/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a-config\ndata:\n  greeting: ${greeting:=plain}\n",
}

// TestTenantOwnObjectsApply is the positive control: with the lockdown in
// place a tenant's Kustomization and HelmRelease, impersonating the
// tenant's ServiceAccount, apply into the tenant's namespace with the
// tenant's own Secrets (named like B's), so every refusal below is the
// lockdown at work and not a broken setup.
func TestTenantOwnObjectsApply(t *testing.T) {
	victim(t)
	a := newAttacker(t, ownFiles)
	ctx := context.Background()
	// A's own Secrets, named like B's: the same references that fail for a
	// tenant without them resolve here, in A.
	for name, data := range map[string]map[string]string{
		"vars":   {"greeting": "from-a"},
		"values": {"values.yaml": "owner: a-values\n"},
	} {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: a, Name: name}, StringData: data}
		NewWithT(t).Expect(testCluster.Client.Create(ctx, s)).To(Succeed())
	}
	apply(t, kustomization(a, "own", "./own", "  targetNamespace: "+a, "  postBuild:\n    substituteFrom:\n    - kind: Secret\n      name: vars"))
	apply(t, helmRelease(a, "own", "  valuesFrom:\n  - kind: Secret\n    name: values"))
	expectReady(t, "Kustomization", a, "own")
	expectReady(t, "HelmRelease", a, "own")

	g := NewWithT(t)
	cm := &corev1.ConfigMap{}
	g.Expect(testCluster.Client.Get(ctx, client.ObjectKey{Namespace: a, Name: "a-config"}, cm)).To(Succeed())
	g.Expect(cm.Data).To(HaveKeyWithValue("greeting", "from-a"))
	g.Expect(testCluster.Client.Get(ctx, client.ObjectKey{Namespace: a, Name: "own"}, cm)).To(Succeed())
	g.Expect(cm.Data).To(HaveKeyWithValue("owner", "a-values"))
	// The release's storage is the tenant's, in the tenant's namespace.
	secrets := &corev1.SecretList{}
	g.Expect(testCluster.Client.List(ctx, secrets, client.InNamespace(a), client.MatchingLabels{"owner": "helm", "name": "own"})).To(Succeed())
	g.Expect(secrets.Items).To(HaveLen(1))
}

// TestTenantCannotWriteToOtherTenant: tenant A's objects try to create or
// change tenant B's ConfigMap b-config every way the APIs allow (a
// targetNamespace, an object's own metadata.namespace, a release's
// targetNamespace, its storageNamespace, a chart that templates another
// namespace); the API server refuses the impersonated tenant each time.
func TestTenantCannotWriteToOtherTenant(t *testing.T) {
	victim(t)
	a := newAttacker(t, map[string]string{
		"into-b/cm.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b-config\ndata:\n  owner: a\n",
		"explicit/cm.yaml": fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b-config\n  namespace: %s\ndata:\n  owner: a\n", victimNamespace),
	})
	before := snapshot(t)
	apply(t, kustomization(a, "target-namespace", "./into-b", "  targetNamespace: "+victimNamespace))
	apply(t, kustomization(a, "explicit-namespace", "./explicit"))
	apply(t, helmRelease(a, "target-namespace", "  targetNamespace: "+victimNamespace, "  values:\n    name: b-config\n    owner: a"))
	apply(t, helmRelease(a, "storage-namespace", "  storageNamespace: "+victimNamespace, "  values:\n    owner: a"))
	apply(t, helmRelease(a, "templated-namespace", fmt.Sprintf("  values:\n    name: b-config\n    namespace: %s\n    owner: a", victimNamespace)))

	who := impersonated(a)
	for _, c := range []struct{ kind, name, resource string }{
		{"Kustomization", "target-namespace", "configmaps"},
		{"Kustomization", "explicit-namespace", "configmaps"},
		{"HelmRelease", "target-namespace", "configmaps"},
		{"HelmRelease", "storage-namespace", "secrets"},
		{"HelmRelease", "templated-namespace", "configmaps"},
	} {
		msg := expectRefused(t, c.kind, a, c.name, "forbidden", who, c.resource, `in the namespace "`+victimNamespace+`"`)
		t.Logf("%s %s: %s", c.kind, c.name, msg)
	}
	expectVictimUnchanged(t, before)
}

// TestTenantCannotWriteClusterScope: a tenant's Kustomization cannot create
// a Namespace or a ClusterRole, nor can its chart template one.
func TestTenantCannotWriteClusterScope(t *testing.T) {
	victim(t)
	a := newAttacker(t, map[string]string{
		"namespace/ns.yaml":   "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: made-by-tenant-a\n",
		"clusterrole/cr.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: made-by-tenant-a\nrules:\n- apiGroups: ['*']\n  resources: ['*']\n  verbs: ['*']\n",
	})
	before := snapshot(t)
	apply(t, kustomization(a, "namespace", "./namespace"))
	apply(t, kustomization(a, "clusterrole", "./clusterrole"))
	apply(t, helmRelease(a, "clusterrole", "  values:\n    clusterRole: made-by-tenant-a-helm"))

	who := impersonated(a)
	// The API server words a refused Namespace as if it were inside itself.
	for _, c := range []struct{ kind, name, resource, scope string }{
		{"Kustomization", "namespace", "namespaces", `in the namespace "made-by-tenant-a"`},
		{"Kustomization", "clusterrole", "clusterroles", "at the cluster scope"},
		{"HelmRelease", "clusterrole", "clusterroles", "at the cluster scope"},
	} {
		msg := expectRefused(t, c.kind, a, c.name, "forbidden", who, `resource "`+c.resource+`"`, c.scope)
		t.Logf("%s %s: %s", c.kind, c.name, msg)
	}
	expectAbsent(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "made-by-tenant-a"}})
	expectAbsent(t, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "made-by-tenant-a"}})
	expectAbsent(t, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "made-by-tenant-a-helm"}})
	expectVictimUnchanged(t, before)
}

// TestTenantCannotReadOtherSecrets: every Secret reference of a
// Kustomization or HelmRelease is local, so a tenant naming a Secret that
// exists only in tenant B (a SOPS key, substitution variables, Helm values,
// an admin kubeconfig) gets "not found" in its own namespace, and nothing of
// B's Secret shows up anywhere in A.
func TestTenantCannotReadOtherSecrets(t *testing.T) {
	victim(t)
	a := newAttacker(t, ownFiles)
	before := snapshot(t)
	own := "  targetNamespace: " + a
	apply(t, kustomization(a, "decryption", "./own", own, "  decryption:\n    provider: sops\n    secretRef:\n      name: sops-keys"))
	apply(t, kustomization(a, "substitute", "./own", own, "  postBuild:\n    substituteFrom:\n    - kind: Secret\n      name: vars"))
	apply(t, kustomization(a, "kubeconfig", "./own", own, "  kubeConfig:\n    secretRef:\n      name: kubeconfig"))
	apply(t, helmRelease(a, "values-from", "  valuesFrom:\n  - kind: Secret\n    name: values"))
	apply(t, helmRelease(a, "kubeconfig", "  kubeConfig:\n    secretRef:\n      name: kubeconfig"))

	for _, c := range []struct{ kind, name, secret, field string }{
		{"Kustomization", "decryption", "sops-keys", "spec.decryption.secretRef"},
		{"Kustomization", "substitute", "vars", "spec.postBuild.substituteFrom"},
		{"Kustomization", "kubeconfig", "kubeconfig", "spec.kubeConfig.secretRef"},
		{"HelmRelease", "values-from", "values", "spec.valuesFrom"},
		{"HelmRelease", "kubeconfig", "kubeconfig", "spec.kubeConfig.secretRef"},
	} {
		msg := expectRefused(t, c.kind, a, c.name, a+"/"+c.secret, "not found", c.field)
		NewWithT(t).Expect(msg).NotTo(ContainSubstring(victimNamespace))
		t.Logf("%s %s: %s", c.kind, c.name, msg)
	}
	// Nothing was applied with B's variables, values or credentials.
	expectAbsent(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: a, Name: "a-config"}})
	expectAbsent(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: a, Name: "values-from"}})
	expectVictimUnchanged(t, before)
}

// TestTenantCannotReferenceOtherSources: sources and dependencies in tenant
// B are refused by --no-cross-namespace-refs before anything is read or
// created: no HelmChart appears in B for A's chart template.
func TestTenantCannotReferenceOtherSources(t *testing.T) {
	victim(t)
	a := newAttacker(t, ownFiles)
	before := snapshot(t)
	b := victimNamespace
	own := "  targetNamespace: " + a
	apply(t, fmt.Sprintf(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: source
  namespace: %s
spec:
  interval: 1h
  prune: true
  path: ./app
  targetNamespace: %s
  sourceRef:
    kind: GitRepository
    name: repo
    namespace: %s
`, a, a, b))
	apply(t, kustomization(a, "depends-on", "./own", own, "  dependsOn:\n  - name: b-app\n    namespace: "+b))
	apply(t, helmRelease(a, "chart-source", "  chart:\n    spec:\n      chart: ./charts/probe\n      sourceRef:\n        kind: GitRepository\n        name: repo\n        namespace: "+b))
	apply(t, helmRelease(a, "chart-ref", "  chartRef:\n    kind: HelmChart\n    name: "+b+"-b-hello\n    namespace: "+b))
	apply(t, helmRelease(a, "depends-on", "  dependsOn:\n  - name: b-hello\n    namespace: "+b))

	for _, c := range []struct{ kind, name, ref string }{
		{"Kustomization", "source", "GitRepository/" + b + "/repo"},
		{"Kustomization", "depends-on", b + "/b-app"},
		{"HelmRelease", "chart-source", b + "/repo"},
		{"HelmRelease", "chart-ref", b + "/" + b + "-b-hello"},
		{"HelmRelease", "depends-on", b + "/b-hello"},
	} {
		msg := expectRefused(t, c.kind, a, c.name, c.ref, "--no-cross-namespace-refs")
		t.Logf("%s %s: %s", c.kind, c.name, msg)
	}
	expectAbsent(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: a, Name: "b-app"}})
	expectAbsent(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: a, Name: "a-config"}})
	expectVictimUnchanged(t, before)
}

// TestTenantCannotUseRemoteBases: with --no-remote-bases a kustomization
// that pulls a resource over HTTP is refused without a single request to
// the remote, so a tenant cannot bring in manifests that bypass its
// repository.
func TestTenantCannotUseRemoteBases(t *testing.T) {
	victim(t)
	var requests atomic.Int32
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		fmt.Fprintf(w, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b-config\n  namespace: %s\ndata:\n  owner: remote\n", victimNamespace)
	}))
	defer remote.Close()
	a := newAttacker(t, map[string]string{
		"remote/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- " + remote.URL + "/cm.yaml\n",
	})
	before := snapshot(t)
	apply(t, kustomization(a, "remote", "./remote"))
	msg := expectRefused(t, "Kustomization", a, "remote", remote.URL+"/cm.yaml", "remote bases are disabled")
	t.Logf("Kustomization remote: %s", msg)
	NewWithT(t).Expect(requests.Load()).To(BeZero())
	expectVictimUnchanged(t, before)
}
