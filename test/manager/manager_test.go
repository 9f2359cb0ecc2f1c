// Package manager_test runs pkg/manager against a real API server: what a
// controller built with --watch-label-selector can read, and what it keeps
// in its cache.
package manager_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/manager"
	"github.com/ferrycd/ferry/pkg/options"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/suite"
)

var (
	testCluster *cluster.Cluster
	scheme      = runtime.NewScheme()
)

func TestMain(m *testing.M) {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(sourcev1.AddToScheme(scheme))
	utilruntime.Must(kustomizev1.AddToScheme(scheme))
	c, err := cluster.Start(cluster.Options{Scheme: scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testCluster = c
	code := m.Run()
	_ = c.Stop()
	os.Exit(code)
}

// requestLog records the method and URL of every request a manager sends.
type requestLog struct {
	mu   sync.Mutex
	seen []string
}

func (l *requestLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		l.mu.Lock()
		l.seen = append(l.seen, req.Method+" "+req.URL.RequestURI())
		l.mu.Unlock()
		return rt.RoundTrip(req)
	})
}

// matching returns the recorded requests whose path names resource.
func (l *requestLog) matching(resource string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.seen {
		if strings.Contains(r, "/"+resource) {
			out = append(out, r)
		}
	}
	return out
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// startManager builds a manager with pkg/manager, as a controller's main
// does, for a controller reconciling Kustomizations and watching labelled
// ConfigMaps, starts it and returns its client and request log.
func startManager(t *testing.T, selector string) (*manager.Setup, *requestLog) {
	t.Helper()
	g := NewWithT(t)
	log := &requestLog{}
	cfg := rest.CopyConfig(testCluster.Config)
	cfg.WrapTransport = log.wrap
	watched := labels.SelectorFromSet(labels.Set{fluxmeta.LabelKeyWatch: fluxmeta.LabelValueWatchEnabled})
	setup, err := manager.New(manager.Controller{
		Name:       "test-controller",
		Scheme:     scheme,
		Reconciled: []client.Object{&kustomizev1.Kustomization{}},
		Watched:    map[client.Object]labels.Selector{&corev1.ConfigMap{}: watched},
		RESTConfig: cfg,
	}, options.Options{
		WatchAllNamespaces: true,
		WatchLabelSelector: selector,
		MetricsAddr:        "0",
		HealthAddr:         "0",
	})
	g.Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- setup.Manager.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	g.Expect(setup.Manager.GetCache().WaitForCacheSync(ctx)).To(BeTrue())
	return setup, log
}

func TestWatchLabelSelectorFiltersOnlyReconciledKinds(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	admin := testCluster.Client
	ns := suite.NewNamespace(t, admin, "shard-")
	shard := map[string]string{"sharding.fluxcd.io/key": "shard1"}

	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "creds"},
		StringData: map[string]string{"token": "x"}}
	vars := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vars"},
		Data: map[string]string{"a": "b"}}
	watchedVars := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "watched-vars",
		Labels: map[string]string{fluxmeta.LabelKeyWatch: fluxmeta.LabelValueWatchEnabled}}}
	source := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "src"},
		Spec: sourcev1.GitRepositorySpec{URL: "https://example.com/app", Interval: metav1.Duration{Duration: time.Minute}}}
	ks := func(name string, labels map[string]string) *kustomizev1.Kustomization {
		return &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
			Spec: kustomizev1.KustomizationSpec{Interval: metav1.Duration{Duration: time.Minute},
				SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "src"}}}
	}
	for _, o := range []client.Object{secret, vars, watchedVars, source, ks("mine", shard), ks("theirs", nil)} {
		g.Expect(admin.Create(ctx, o)).To(Succeed())
	}

	setup, requests := startManager(t, "sharding.fluxcd.io/key=shard1")
	c := setup.Manager.GetClient()
	key := func(name string) types.NamespacedName { return types.NamespacedName{Namespace: ns, Name: name} }

	// What the shard's objects refer to is found whatever its labels.
	g.Expect(c.Get(ctx, key("creds"), &corev1.Secret{})).To(Succeed(), "an unlabelled Secret")
	g.Expect(c.Get(ctx, key("vars"), &corev1.ConfigMap{})).To(Succeed(), "an unlabelled ConfigMap")
	g.Expect(c.Get(ctx, key("src"), &sourcev1.GitRepository{})).To(Succeed(), "an unlabelled source")

	// The reconciled kind is still sharded.
	g.Expect(c.Get(ctx, key("mine"), &kustomizev1.Kustomization{})).To(Succeed())
	err := c.Get(ctx, key("theirs"), &kustomizev1.Kustomization{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "a Kustomization of another shard is not seen, got %v", err)
	var list kustomizev1.KustomizationList
	g.Expect(c.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	g.Expect(list.Items).To(HaveLen(1))
	g.Expect(list.Items[0].Name).To(Equal("mine"))

	// Secrets and ConfigMaps are read live, never cached cluster-wide:
	// no list or watch of every Secret, and the ConfigMap informer holds
	// only the labelled ConfigMaps the controller watches.
	g.Expect(requests.matching("secrets")).To(ConsistOf(ContainSubstring("GET /api/v1/namespaces/"+ns+"/secrets/creds")),
		"the Secret is read by name, not listed or watched")
	var cached corev1.ConfigMapList
	g.Expect(setup.Manager.GetCache().List(ctx, &cached, client.InNamespace(ns))).To(Succeed())
	g.Expect(cached.Items).To(HaveLen(1))
	g.Expect(cached.Items[0].Name).To(Equal("watched-vars"))
	for _, r := range requests.matching("configmaps") {
		if strings.Contains(r, "watch=true") || !strings.Contains(r, "/configmaps/") {
			g.Expect(r).To(ContainSubstring("labelSelector=reconcile.fluxcd.io"), "ConfigMaps are listed and watched by label only")
		}
	}
}
