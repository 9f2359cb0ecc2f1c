package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/cli/internal/objects"
	"github.com/ferrycd/ferry/cli/internal/tree"
)

// TestGetSortsFailingFirst: a GitRepository that cannot clone is listed
// before the objects that are ready, in the table, in JSON and with the
// status selector.
func TestGetSortsFailingFirst(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	head, err := gitSrv.Commit(ns+"/fleet.git", "main", "apps", map[string]string{"apps/web.yaml": configMapYAML("web", "v1")})
	g.Expect(err).NotTo(HaveOccurred())
	apply(t, gitRepositoryYAML(ns, "fleet", gitSrv.URL(ns+"/fleet.git"))+"---\n"+
		gitRepositoryYAML(ns, "broken", gitSrv.URL(ns+"/missing.git"))+"---\n"+
		kustomizationYAML(ns, "apps", "./apps"))
	waitReady(t, objects.Kustomization, ns, "apps", "main@sha1:"+head)
	g.Eventually(func(g Gomega) {
		r := ferry(t, "get", "-n", ns, "--status-selector", "ready=false")
		g.Expect(r.out).To(ContainSubstring("GitRepository/broken"))
	}, timeout, poll).Should(Succeed())

	r := ferry(t, "get", "-n", ns)
	g.Expect(r.code).To(Equal(0))
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	g.Expect(lines).To(HaveLen(4))
	g.Expect(lines[0]).To(MatchRegexp(`^KIND/NAME\s+READY\s+REVISION\s+SUSPENDED\s+AGE\s+MESSAGE`))
	g.Expect(lines[1]).To(MatchRegexp(`^GitRepository/broken\s+False\s+false\s+\S+\s+\S+`))
	g.Expect(lines[2]).To(MatchRegexp(`^GitRepository/fleet\s+True\s+main@sha1:` + head))
	g.Expect(lines[3]).To(MatchRegexp(`^Kustomization/apps\s+True\s+main@sha1:` + head))

	r = ferry(t, "get", "sources", "git", "-n", ns, "-o", "json")
	g.Expect(r.code).To(Equal(0))
	var items []objects.Summary
	g.Expect(json.Unmarshal([]byte(r.out), &items)).To(Succeed())
	g.Expect(items).To(HaveLen(2))
	g.Expect(items[0].Name).To(Equal("broken"))
	g.Expect(items[0].Ready).To(Equal(objects.ReadyFalse))
	g.Expect(items[0].Message).NotTo(BeEmpty())

	r = ferry(t, "get", "all", "-A", "--status-selector", "ready=false")
	g.Expect(r.out).To(MatchRegexp(`(?m)^` + ns + `\s+GitRepository/broken\s+False`))
	g.Expect(r.out).NotTo(MatchRegexp(`(?m)^` + ns + `\s+Kustomization/apps`))

	r = ferry(t, "get", "ks", "nothing", "-n", ns)
	g.Expect(r.code).To(Equal(2))
	g.Expect(r.err).To(ContainSubstring(`no ks named "nothing"`))
}

// TestTreeDescendsIntoKustomizationsAndHelmReleases: root applies the
// Kustomization child, which applies a ConfigMap and a HelmRelease whose
// release holds another ConfigMap; the tree shows all of it with health.
func TestTreeDescendsIntoKustomizationsAndHelmReleases(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	files := chartFiles("charts/hello")
	files["root/child.yaml"] = kustomizationYAML(ns, "child", "./child")
	files["child/web.yaml"] = configMapYAML("web", "v1")
	files["child/hello.yaml"] = helmReleaseYAML(ns, "hello", "./charts/hello", "hi")
	_, err := gitSrv.Commit(ns+"/fleet.git", "main", "tree", files)
	g.Expect(err).NotTo(HaveOccurred())
	apply(t, gitRepositoryYAML(ns, "fleet", gitSrv.URL(ns+"/fleet.git"))+"---\n"+kustomizationYAML(ns, "root", "./root"))
	waitReady(t, objects.Kustomization, ns, "root", "")
	waitReady(t, objects.Kustomization, ns, "child", "")
	waitReady(t, objects.HelmRelease, ns, "hello", "")

	r := ferry(t, "tree", "ks", "root", "-n", ns)
	g.Expect(r.code).To(Equal(0))
	want := []string{
		"Kustomization/" + ns + "/root Current",
		"└── Kustomization/" + ns + "/child Current",
		"    ├── ConfigMap/" + ns + "/web Current",
		"    └── HelmRelease/" + ns + "/hello Current",
		"        └── ConfigMap/" + ns + "/hello Current",
	}
	g.Expect(strings.Split(strings.TrimSpace(r.out), "\n")).To(Equal(want))

	// A deleted object shows as NotFound rather than vanishing (child is
	// suspended so that self-heal does not recreate it first).
	// Until the controller has seen the suspension, self-heal may still
	// recreate the ConfigMap: delete it again until it stays gone.
	g.Expect(ferry(t, "suspend", "ks", "child", "-n", ns).code).To(Equal(0))
	g.Eventually(func(g Gomega) {
		g.Expect(client.IgnoreNotFound(testCluster.Client.Delete(t.Context(), configMapObj(ns, "web")))).To(Succeed())
		r := ferry(t, "tree", "ks", "child", "-n", ns, "-o", "json")
		g.Expect(r.code).To(Equal(0))
		var root tree.Node
		g.Expect(json.Unmarshal([]byte(r.out), &root)).To(Succeed())
		g.Expect(root.Children).To(HaveLen(2))
		g.Expect(root.Children[0].Ref()).To(Equal("ConfigMap/" + ns + "/web"))
		g.Expect(root.Children[0].Health).To(Equal("NotFound"))
		g.Expect(root.Children[1].Children).To(HaveLen(1))
	}, time.Minute, time.Second).Should(Succeed())

	r = ferry(t, "tree", "hr", "hello", "-n", ns)
	g.Expect(r.code).To(Equal(0))
	g.Expect(r.out).To(MatchRegexp(regexp.QuoteMeta("HelmRelease/"+ns+"/hello Current") + `\n└── ConfigMap/` + ns + `/hello Current`))
}
