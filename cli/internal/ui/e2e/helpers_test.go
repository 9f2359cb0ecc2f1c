package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/cli/internal/ui"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/apis/meta"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/suite"
)

const timeout = 60 * time.Second

// tab opens a new browser tab for one test.
func tab(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	// The first run opens the tab and ties it to the context it is given:
	// run it on the tab's own context, not on one of do's short ones.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// serve serves a UI for one test. Register it before the test opens its
// tabs: cleanups run last first, so the tabs (and their event streams)
// close before the server waits for its connections.
func serve(t *testing.T, srv *ui.Server) *httptest.Server {
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.CloseClientConnections(); hs.Close() })
	return hs
}

// do runs browser actions with a bound on how long they may take.
func do(ctx context.Context, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// get runs one browser action that returns a value, bounded like do.
func get[T any](ctx context.Context, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// press clicks a button of the part of a page that live updates replace,
// from the page's script: a click through the input events would have to
// wait until no refresh is swapping the node it aims at.
func press(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		return do(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf("document.querySelector(%q).click()", sel)))
	}, timeout, 200*time.Millisecond).Should(Succeed(), "pressing %s", sel)
}

// text is the visible text of the first element sel matches, or "" while
// there is none.
func text(ctx context.Context, sel string) string {
	s, err := get(ctx, chromedp.Evaluate[string](fmt.Sprintf("(document.querySelector(%q) || {innerText: ''}).innerText", sel)))
	if err != nil {
		return ""
	}
	return s
}

// eventuallyText waits until the element's visible text satisfies m.
func eventuallyText(t *testing.T, ctx context.Context, sel string, m OmegaMatcher) {
	t.Helper()
	NewWithT(t).Eventually(func() string { return text(ctx, sel) }, timeout, 200*time.Millisecond).Should(m, "text of %s", sel)
}

// html is the page's whole markup as the browser holds it now.
func html(t *testing.T, ctx context.Context) string {
	t.Helper()
	s, err := get(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return s
}

// shot writes a PNG of the page as the window shows it to FERRY_SCREENSHOTS (or the test's
// temporary directory) and checks it is a real image.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("FERRY_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	g := NewWithT(t)
	// The window (1440x1000) rather than the full page: a full-page capture
	// waits for a stable layout, which a page refreshed live by its event
	// stream on a busy machine may not give within a minute.
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	buf, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
	g.Expect(err).NotTo(HaveOccurred())
	img, err := png.Decode(bytes.NewReader(buf))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(img.Bounds().Dx()).To(BeNumerically(">", 800))
	g.Expect(os.MkdirAll(dir, 0o755)).To(Succeed())
	g.Expect(os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)).To(Succeed())
}

// fleet is a namespace with a GitRepository and Kustomizations: "apps"
// (a ConfigMap and a Secret), "late" that dependsOn apps, and "broken"
// whose path does not exist.
type fleet struct {
	ns     string
	secret string
}

func newFleet(t *testing.T) fleet {
	t.Helper()
	c := testCluster.Client
	ns := suite.NewNamespace(t, c, "ui-")
	f := fleet{ns: ns, secret: "s3cr3t-plaintext-" + ns}
	repo := "ui/" + ns + ".git"
	_, err := gitSrv.Commit(repo, "main", "apps", map[string]string{
		"app/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: blue\n",
		"app/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: " + f.secret + "\n",
	})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	ctx := context.Background()
	g := NewWithT(t)
	g.Expect(c.Create(ctx, &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "fleet", Namespace: ns},
		Spec: sourcev1.GitRepositorySpec{URL: gitSrv.URL(repo), Interval: metav1.Duration{Duration: time.Hour},
			Reference: &sourcev1.GitRepositoryRef{Branch: "main"}},
	})).To(Succeed())
	mk := func(name, path, prefix string, deps ...string) *kustomizev1.Kustomization {
		k := &kustomizev1.Kustomization{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: kustomizev1.KustomizationSpec{Interval: metav1.Duration{Duration: time.Hour}, Path: path, Prune: true,
				TargetNamespace: ns, NamePrefix: prefix,
				SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "fleet"}},
		}
		for _, d := range deps {
			k.Spec.DependsOn = append(k.Spec.DependsOn, meta.DependencyReference{Name: d})
		}
		return k
	}
	for _, k := range []*kustomizev1.Kustomization{mk("apps", "./app", ""), mk("late", "./app", "late-", "apps"), mk("broken", "./missing", "broken-")} {
		g.Expect(c.Create(ctx, k)).To(Succeed())
	}
	g.Eventually(func() []string {
		return []string{readyOf(t, ns, "apps"), readyOf(t, ns, "late"), readyOf(t, ns, "broken")}
	}, 2*timeout, 250*time.Millisecond).Should(Equal([]string{"True", "True", "False"}))
	return f
}

// readyOf is the Ready condition's status of Kustomization ns/name.
func readyOf(t *testing.T, ns, name string) string {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(kustomizev1.GroupVersion.WithKind(kustomizev1.KustomizationKind))
	if err := testCluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u); err != nil {
		return err.Error()
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == "Ready" {
			return fmt.Sprint(m["status"])
		}
	}
	return "Unknown"
}

func clientKey(ns, name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }
