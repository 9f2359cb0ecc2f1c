package e2e

import (
	"fmt"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/ferrycd/ferry/cli/internal/objects"
	"github.com/ferrycd/ferry/test/harness"
)

// TestActsUnderTheUsersRBAC: a user who may only read Kustomizations in
// one namespace sees them there, gets an error naming RBAC elsewhere, and
// cannot request a reconcile.
func TestActsUnderTheUsersRBAC(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	head, err := gitSrv.Commit(ns+"/fleet.git", "main", "apps", map[string]string{"apps/web.yaml": configMapYAML("web", "v1")})
	g.Expect(err).NotTo(HaveOccurred())
	apply(t, gitRepositoryYAML(ns, "fleet", gitSrv.URL(ns+"/fleet.git"))+"---\n"+kustomizationYAML(ns, "apps", "./apps"))
	waitReady(t, objects.Kustomization, ns, "apps", "main@sha1:"+head)

	user := "viewer-" + ns
	apply(t, fmt.Sprintf(`apiVersion: v1
kind: ServiceAccount
metadata:
  name: %[2]s
  namespace: %[3]s
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: ks-viewer
  namespace: %[1]s
rules:
- apiGroups: [kustomize.toolkit.fluxcd.io]
  resources: [kustomizations]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: ks-viewer
  namespace: %[1]s
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: ks-viewer
subjects:
- kind: ServiceAccount
  name: %[2]s
  namespace: %[3]s
`, ns, user, harness.Namespace))
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	g.Expect(harness.ServiceAccountKubeconfig(t.Context(), testCluster, user, kubeconfig)).To(Succeed())
	as := "--kubeconfig=" + kubeconfig

	r := ferry(t, as, "get", "ks", "-n", ns)
	g.Expect(r.code).To(Equal(0), r.all())
	g.Expect(r.out).To(MatchRegexp(`Kustomization/apps\s+True`))

	r = ferry(t, as, "get", "-n", ns)
	g.Expect(r.code).To(Equal(0), r.all())
	g.Expect(r.out).To(ContainSubstring("Kustomization/apps"))
	g.Expect(r.err).To(ContainSubstring("warning: listing gitrepositories"))
	g.Expect(r.err).To(ContainSubstring("forbidden"))

	r = ferry(t, as, "get", "ks", "-A")
	g.Expect(r.code).To(Equal(2), r.all())
	g.Expect(r.err).To(ContainSubstring("forbidden"))

	r = ferry(t, as, "reconcile", "ks", "apps", "-n", ns)
	g.Expect(r.code).To(Equal(2), r.all())
	g.Expect(r.err).To(ContainSubstring("forbidden by RBAC: cannot patch kustomizations in namespace " + ns))
}
