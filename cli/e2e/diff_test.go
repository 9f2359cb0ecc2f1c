package e2e

import (
	"encoding/base64"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/cli/internal/objects"
)

// secrets are the plaintexts of the test's Secret; none may appear in any
// output, encoded or not.
var secrets = []string{"plain-secret-1", "plain-secret-2"}

func expectNoSecrets(g Gomega, r result) {
	for _, s := range secrets {
		g.Expect(r.all()).NotTo(ContainSubstring(s))
		g.Expect(r.all()).NotTo(ContainSubstring(base64.StdEncoding.EncodeToString([]byte(s))))
	}
}

// sopsSecret looks like a file the sops CLI encrypted.
const sopsSecret = `apiVersion: v1
kind: Secret
metadata:
  name: sealed
stringData:
  token: ENC[AES256_GCM,data:q83v,iv:abc=,tag:def=,type:str]
sops:
  age:
  - recipient: age1qqq
    enc: |
      -----BEGIN AGE ENCRYPTED FILE-----
      -----END AGE ENCRYPTED FILE-----
  lastmodified: "2026-01-01T00:00:00Z"
  version: 3.9.0
`

// TestDiffKustomization covers no change, drift, a local change with a
// Secret, a new object and a removed one (pruned), prune: false, SOPS, and
// Kustomizations that do not exist yet; Secret plaintext never shows.
func TestDiffKustomization(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	head, err := gitSrv.Commit(ns+"/fleet.git", "main", "apps", map[string]string{
		"apps/web.yaml":   configMapYAML("web", "v1"),
		"apps/api.yaml":   configMapYAML("api", "v1"),
		"apps/token.yaml": secretYAML("token", "plain-secret-1"),
	})
	g.Expect(err).NotTo(HaveOccurred())
	apply(t, gitRepositoryYAML(ns, "fleet", gitSrv.URL(ns+"/fleet.git"))+"---\n"+kustomizationYAML(ns, "apps", "./apps"))
	waitReady(t, objects.Kustomization, ns, "apps", "main@sha1:"+head)

	// What Git says is what runs: nothing to do.
	r := ferry(t, "diff", "ks", "apps", "-n", ns)
	g.Expect(r.code).To(Equal(0), r.all())
	g.Expect(r.out).To(ContainSubstring("0 created, 0 changed, 0 replaced, 0 pruned, 3 unchanged, 0 skipped (against main@sha1:" + head + ")"))
	expectNoSecrets(g, r)

	// Someone edits the cluster by hand: drift. The Kustomization is
	// suspended first, or the controller's self-heal reverts the edit
	// before the diff can see it.
	g.Expect(ferry(t, "suspend", "ks", "apps", "-n", ns).code).To(Equal(0))
	editByHand(t, ns, "web", "value", "by-hand")
	r = ferry(t, "diff", "ks", "apps", "-n", ns)
	g.Expect(r.code).To(Equal(1), r.all())
	g.Expect(r.out).To(ContainSubstring(fmt.Sprintf("~ ConfigMap/%s/web changed (drift", ns)))
	g.Expect(r.out).To(ContainSubstring("-  value: by-hand\n+  value: v1\n"))
	g.Expect(r.out).NotTo(ContainSubstring("managedFields"))
	g.Expect(r.out).NotTo(ContainSubstring("resourceVersion"))

	// A change under review in a local directory: web and the token
	// change, api is removed (pruned), new is added, a SOPS file is
	// skipped.
	dir := writeFiles(t, map[string]string{
		"web.yaml":    configMapYAML("web", "v2"),
		"new.yaml":    configMapYAML("new", "v1"),
		"token.yaml":  secretYAML("token", "plain-secret-2"),
		"sealed.yaml": sopsSecret,
	})
	r = ferry(t, "diff", "ks", "apps", "-n", ns, "--path", dir)
	g.Expect(r.code).To(Equal(1), r.all())
	g.Expect(r.out).To(ContainSubstring(fmt.Sprintf("~ ConfigMap/%s/web changed\n", ns)))
	g.Expect(r.out).To(ContainSubstring("+  value: v2"))
	g.Expect(r.out).To(ContainSubstring(fmt.Sprintf("+ ConfigMap/%s/new created", ns)))
	g.Expect(r.out).To(ContainSubstring(fmt.Sprintf("- ConfigMap/%s/api pruned", ns)))
	g.Expect(r.out).To(ContainSubstring(fmt.Sprintf("~ Secret/%s/token changed", ns)))
	g.Expect(r.out).To(ContainSubstring("-  token: '*** (before)'"))
	g.Expect(r.out).To(ContainSubstring("+  token: '*** (after)'"))
	g.Expect(r.out).To(ContainSubstring(fmt.Sprintf("? Secret/%s/sealed skipped: SOPS-encrypted", ns)))
	g.Expect(r.out).To(ContainSubstring("1 created, 2 changed, 0 replaced, 1 pruned, 0 unchanged, 1 skipped"))
	expectNoSecrets(g, r)
	r = ferry(t, "diff", "ks", "apps", "-n", ns, "--path", dir, "-o", "json")
	g.Expect(r.code).To(Equal(1))
	expectNoSecrets(g, r)

	// With prune: false nothing is pruned.
	noPrune := writeFiles(t, map[string]string{"ks.yaml": fmt.Sprintf(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
spec:
  interval: 1h
  prune: false
  targetNamespace: %s
  sourceRef:
    kind: GitRepository
    name: fleet
`, ns)})
	r = ferry(t, "diff", "ks", "apps", "-n", ns, "--path", dir, "-f", noPrune+"/ks.yaml")
	g.Expect(r.code).To(Equal(1), r.all())
	g.Expect(r.out).NotTo(ContainSubstring("pruned\n"))
	g.Expect(r.out).To(ContainSubstring("0 pruned"))

	// The build, masked.
	r = ferry(t, "build", "ks", "apps", "-n", ns, "--path", dir)
	g.Expect(r.code).To(Equal(0), r.all())
	g.Expect(r.out).To(ContainSubstring("kustomize.toolkit.fluxcd.io/name: apps"))
	g.Expect(r.out).To(ContainSubstring("token: '***'"))
	g.Expect(r.err).To(ContainSubstring("sealed skipped"))
	expectNoSecrets(g, r)

	// A Kustomization that does not exist yet, from a file: all created.
	fresh := writeFiles(t, map[string]string{"ks.yaml": fmt.Sprintf(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: fresh
  namespace: %[1]s
spec:
  interval: 1h
  path: ./apps
  prune: true
  namePrefix: fresh-
  targetNamespace: %[1]s
  sourceRef:
    kind: GitRepository
    name: fleet
`, ns)})
	r = ferry(t, "diff", "ks", "fresh", "-n", ns, "-f", fresh+"/ks.yaml")
	g.Expect(r.code).To(Equal(1), r.all())
	g.Expect(r.out).To(ContainSubstring(fmt.Sprintf("+ ConfigMap/%s/fresh-web created", ns)))
	g.Expect(r.out).To(ContainSubstring(fmt.Sprintf("+ Secret/%s/fresh-token created", ns)))
	g.Expect(r.out).To(ContainSubstring("+  token: '***'"))
	g.Expect(r.out).To(ContainSubstring("3 created, 0 changed, 0 replaced, 0 pruned, 0 unchanged"))
	expectNoSecrets(g, r)

	// A bare name with --path: everything in the directory is created.
	bare := writeFiles(t, map[string]string{"cm.yaml": fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: only\n  namespace: %s\ndata:\n  a: b\n", ns)})
	r = ferry(t, "diff", "ks", "not-there", "-n", ns, "--path", bare)
	g.Expect(r.code).To(Equal(1), r.all())
	g.Expect(r.out).To(ContainSubstring(fmt.Sprintf("+ ConfigMap/%s/only created", ns)))
	g.Expect(r.out).To(ContainSubstring("+    kustomize.toolkit.fluxcd.io/name: not-there"))

	// Neither a cluster object, a file nor a path: an error naming the fix.
	r = ferry(t, "diff", "ks", "not-there", "-n", ns)
	g.Expect(r.code).To(Equal(2))
	g.Expect(r.err).To(ContainSubstring("give its spec with -f FILE or a directory with --path"))

	// Nothing was changed by any of it.
	web := configMapObj(ns, "web")
	get(t, web)
	g.Expect(web.Data["value"]).To(Equal("by-hand"))
	g.Expect(testCluster.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "new"}, &corev1.ConfigMap{})).NotTo(Succeed())
}

// TestDiffHelmRelease: the render of the source's chart with the
// composed values is unchanged; new values change the ConfigMap; a local
// chart that drops it and adds another shows both.
func TestDiffHelmRelease(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	installHello(t, ns)

	r := ferry(t, "diff", "hr", "hello", "-n", ns)
	g.Expect(r.code).To(Equal(0), r.all())
	g.Expect(r.out).To(ContainSubstring("0 created, 0 changed, 0 replaced, 0 pruned, 1 unchanged, 0 skipped (against hello@0.1.0)"))

	values := writeFiles(t, map[string]string{"v.yaml": "greeting: v2\n"})
	r = ferry(t, "diff", "hr", "hello", "-n", ns, "--values", values+"/v.yaml")
	g.Expect(r.code).To(Equal(1), r.all())
	g.Expect(r.out).To(ContainSubstring(fmt.Sprintf("~ ConfigMap/%s/hello changed\n", ns)))
	g.Expect(r.out).To(ContainSubstring("-  greeting: v1\n+  greeting: v2\n"))

	files := chartFiles("hello")
	delete(files, "hello/templates/configmap.yaml")
	files["hello/templates/extra.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  greeting: {{ .Values.greeting | quote }}\n"
	chart := writeFiles(t, files)
	r = ferry(t, "diff", "hr", "hello", "-n", ns, "--chart", chart+"/hello")
	g.Expect(r.code).To(Equal(1), r.all())
	g.Expect(r.out).To(ContainSubstring(fmt.Sprintf("+ ConfigMap/%s/extra created", ns)))
	g.Expect(r.out).To(ContainSubstring("+    helm.toolkit.fluxcd.io/name: hello"))
	g.Expect(r.out).To(ContainSubstring(fmt.Sprintf("- ConfigMap/%s/hello pruned", ns)))

	// Drift: a hand edit shows against the unchanged render.
	editByHand(t, ns, "hello", "greeting", "by-hand")
	r = ferry(t, "diff", "hr", "hello", "-n", ns)
	g.Expect(r.code).To(Equal(1), r.all())
	g.Expect(r.out).To(ContainSubstring(fmt.Sprintf("~ ConfigMap/%s/hello changed (drift", ns)))
}

// TestDiffBuildsWithTheSpec: a local directory is built with the
// Kustomization's patches, namePrefix and postBuild substitution, its
// substituteFrom values read from the cluster, as the controller builds.
func TestDiffBuildsWithTheSpec(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	apply(t, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: vars\n  namespace: %s\ndata:\n  greeting: hola\n", ns))
	dir := writeFiles(t, map[string]string{
		"ks.yaml": fmt.Sprintf(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: spec
spec:
  interval: 1h
  prune: true
  namePrefix: pre-
  targetNamespace: %s
  sourceRef:
    kind: GitRepository
    name: fleet
  patches:
  - target:
      kind: ConfigMap
    patch: |
      - op: add
        path: /data/patched
        value: "yes"
  postBuild:
    substitute:
      extra: x
    substituteFrom:
    - kind: ConfigMap
      name: vars
`, ns),
		"app/web.yaml": configMapYAML("web", "${greeting}-${extra}"),
	})
	r := ferry(t, "diff", "ks", "spec", "-n", ns, "-f", dir+"/ks.yaml", "--path", dir+"/app")
	g.Expect(r.code).To(Equal(1), r.all())
	g.Expect(r.out).To(ContainSubstring(fmt.Sprintf("+ ConfigMap/%s/pre-web created", ns)))
	g.Expect(r.out).To(ContainSubstring("+  value: hola-x\n"))
	g.Expect(r.out).To(ContainSubstring("+  patched: \"yes\"\n"))
}
