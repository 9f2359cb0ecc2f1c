package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ferrycd/ferry/cli/internal/ui"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/test/harness"
)

// TestNamespaceScopedUser: a user whose Role lets them read the Flux kinds
// in one namespace, and change nothing, sees that namespace only, is told
// why the rest is hidden, and gets "forbidden by RBAC" with the verb and
// resource when pressing Reconcile.
func TestNamespaceScopedUser(t *testing.T) {
	team := newFleet(t)
	other := newFleet(t)
	g := NewWithT(t)
	bg := context.Background()
	c := testCluster.Client

	name := "viewer-" + team.ns
	g.Expect(c.Create(bg, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: harness.Namespace}})).To(Succeed())
	g.Expect(c.Create(bg, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "flux-viewer", Namespace: team.ns},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"source.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io", "helm.toolkit.fluxcd.io"},
				Resources: []string{"*"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"events", "configmaps"}, Verbs: []string{"get", "list", "watch"}},
		},
	})).To(Succeed())
	g.Expect(c.Create(bg, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "flux-viewer", Namespace: team.ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "flux-viewer"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: harness.Namespace}},
	})).To(Succeed())
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	g.Expect(harness.ServiceAccountKubeconfig(bg, testCluster, name, kubeconfig)).To(Succeed())
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	g.Expect(err).NotTo(HaveOccurred())

	// As `ferry ui -n <team>` with a context whose namespace is the
	// ServiceAccount's own.
	srv, err := ui.New(bg, ui.Options{Targets: []ui.Target{{Name: "team", Config: cfg, Namespaces: []string{team.ns, harness.Namespace}}}})
	g.Expect(err).NotTo(HaveOccurred())
	hs := serve(t, srv)

	ctx := tab(t)
	g.Expect(do(ctx, chromedp.Navigate(hs.URL+"/"))).To(Succeed())
	eventuallyText(t, ctx, ".total", HavePrefix("4 shown of 4"))
	body := text(ctx, "#results")
	g.Expect(body).To(ContainSubstring(team.ns))
	g.Expect(body).NotTo(ContainSubstring(other.ns))
	g.Expect(body).To(MatchRegexp(`forbidden by RBAC: you may not list [^\n]*kustomizations.kustomize.toolkit.fluxcd.io[^\n]* across all namespaces, showing only namespace\(s\) ` + team.ns))

	g.Expect(do(ctx, chromedp.Click(chromedp.CSS(`table.objects a[href$="/Kustomization/`+team.ns+`/apps"]`)))).To(Succeed())
	eventuallyText(t, ctx, "h1", Equal("Kustomization "+team.ns+"/apps"))
	press(t, ctx, `button[formaction$="/reconcile"]`)
	eventuallyText(t, ctx, ".error", And(ContainSubstring("forbidden by RBAC"), ContainSubstring("patch"),
		ContainSubstring("kustomizations"), ContainSubstring("namespace "+team.ns)))
	shot(t, ctx, "forbidden")

	// Nothing was written.
	k := &kustomizev1.Kustomization{}
	g.Expect(c.Get(bg, clientKey(team.ns, "apps"), k)).To(Succeed())
	g.Expect(k.Annotations).NotTo(HaveKey("reconcile.fluxcd.io/requestedAt"))
}

// TestCSRF: an action without the session's token, or from another origin,
// is refused and changes nothing; with both it goes through.
func TestCSRF(t *testing.T) {
	f := newFleet(t)
	g := NewWithT(t)
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page := adminUI + "/c/local/Kustomization/" + f.ns + "/late"

	resp, err := hc.Get(page)
	g.Expect(err).NotTo(HaveOccurred())
	markup, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(string(markup))
	g.Expect(m).To(HaveLen(2), "the page carries a CSRF token")
	token := m[1]

	post := func(form url.Values, origin string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, page+"/suspend", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := hc.Do(req)
		g.Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	suspended := func() bool {
		k := &kustomizev1.Kustomization{}
		g.Expect(testCluster.Client.Get(context.Background(), clientKey(f.ns, "late"), k)).To(Succeed())
		return k.Spec.Suspend
	}

	code, body := post(url.Values{}, adminUI)
	g.Expect(code).To(Equal(http.StatusForbidden))
	g.Expect(body).To(ContainSubstring("missing or wrong CSRF token"))
	code, body = post(url.Values{"csrf": {token}}, "http://attacker.example")
	g.Expect(code).To(Equal(http.StatusForbidden))
	g.Expect(body).To(ContainSubstring("actions are accepted only from this UI"))
	g.Expect(suspended()).To(BeFalse())

	code, _ = post(url.Values{"csrf": {token}}, adminUI)
	g.Expect(code).To(Equal(http.StatusSeeOther))
	g.Expect(suspended()).To(BeTrue())
}
