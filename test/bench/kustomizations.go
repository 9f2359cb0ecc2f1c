package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/gitserver"
)

// runKustomizations applies N Kustomizations from one GitRepository, each
// applying 3 small ConfigMaps under its own name prefix, measures the time to
// all Ready, then requests a reconcile of each with nothing changed and
// checks that no applied object was written and no artifact downloaded.
func runKustomizations(ctx context.Context, env *Env) (*Result, error) {
	c, err := benchClient(env)
	if err != nil {
		return nil, err
	}
	const ns = "bench-ks"
	stop, err := startFleet(ctx, c, ns)
	if err != nil {
		return nil, err
	}
	defer stop()
	kc := env.Controllers["kustomize-controller"]
	// On a busy machine the controller may still be starting.
	if err := kc.WaitReady(2 * time.Minute); err != nil {
		return nil, err
	}
	reqBefore, err := sumCounter(kc.MetricsAddr, "rest_client_requests_total")
	if err != nil {
		return nil, err
	}
	apiBefore, err := apiRequests(ctx, env.Cluster.Config)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	start := time.Now()
	if err := createKustomizations(ctx, c, ns, env.N, time.Hour); err != nil {
		return nil, err
	}
	if err := waitKustomizations(ctx, env, c, ns, env.N, func(k *kustomizev1.Kustomization) bool {
		return conditions.IsReady(k) && k.Status.LastAppliedRevision != ""
	}); err != nil {
		return nil, err
	}
	res.Add(fmt.Sprintf("time to all %d Kustomizations Ready (GitRepository created at the same time)", env.N),
		time.Since(start).Round(time.Millisecond).String())
	first, err := reconcileDurations(kc.MetricsAddr, kustomizev1.KustomizationKind)
	if err != nil {
		return nil, err
	}
	var ds []time.Duration
	for _, v := range first {
		ds = append(ds, time.Duration(v*float64(time.Second)))
	}
	p50, p95 := percentiles(ds)
	res.Add("first reconcile p50 (all attempts, incl. waiting for the source)", ms(p50))
	res.Add("first reconcile p95", ms(p95))
	reqAfter, _ := sumCounter(kc.MetricsAddr, "rest_client_requests_total")
	res.Add("API requests per Kustomization, first apply (the controllers' rest_client_requests_total)", fmt.Sprintf("%.1f", (reqAfter-reqBefore)/float64(env.N)))
	apiAfter, err := apiRequests(ctx, env.Cluster.Config)
	if err != nil {
		return nil, err
	}
	res.Add("API server requests per Kustomization, first apply (apiserver_request_total by verb; the bench's creates and LISTs left out)",
		perObject(apiBefore, withoutBench(apiBefore, apiAfter, "post kustomizations", "list kustomizations"), env.N, ksResources...))
	res.Add("API server requests per applied object, first apply",
		perObject(apiBefore, withoutBench(apiBefore, apiAfter, "post kustomizations", "list kustomizations"), 3*env.N, ksResources...))

	// Second pass: nothing changed.
	versions, err := configMapVersions(ctx, c, ns, "k")
	if err != nil {
		return nil, err
	}
	downloadsBefore, _ := counter(kc.MetricsAddr, "ferry_artifact_downloads_total")
	reqBefore, _ = sumCounter(kc.MetricsAddr, "rest_client_requests_total")
	apiBefore, _ = apiRequests(ctx, env.Cluster.Config)
	start = time.Now()
	if err := requestAll(ctx, env, c, ns, env.N); err != nil {
		return nil, err
	}
	res.Add(fmt.Sprintf("steady-state pass over %d unchanged Kustomizations", env.N), time.Since(start).Round(time.Millisecond).String())
	second, err := reconcileDurations(kc.MetricsAddr, kustomizev1.KustomizationKind)
	if err != nil {
		return nil, err
	}
	ds = ds[:0]
	for k, v := range second {
		ds = append(ds, time.Duration((v-first[k])*float64(time.Second)))
	}
	p50, p95 = percentiles(ds)
	res.Add("unchanged reconcile p50", ms(p50))
	res.Add("unchanged reconcile p95", ms(p95))
	reqAfter, _ = sumCounter(kc.MetricsAddr, "rest_client_requests_total")
	res.Add("API requests per unchanged reconcile (the controllers' rest_client_requests_total)", fmt.Sprintf("%.1f", (reqAfter-reqBefore)/float64(env.N)))
	apiAfter, _ = apiRequests(ctx, env.Cluster.Config)
	res.Add("API server requests per unchanged requested reconcile (by verb; the bench's annotation patches and LISTs left out)",
		perObject(apiBefore, withoutBench(apiBefore, apiAfter, "patch kustomizations", "list kustomizations"), env.N, ksResources...))
	after, err := configMapVersions(ctx, c, ns, "k")
	if err != nil {
		return nil, err
	}
	written := 0
	for name, rv := range after {
		if versions[name] != rv {
			written++
		}
	}
	res.Add("applied objects written during the unchanged pass", fmt.Sprintf("%d of %d", written, len(after)))
	downloadsAfter, _ := counter(kc.MetricsAddr, "ferry_artifact_downloads_total")
	res.Add("artifact downloads: first pass / unchanged pass", fmt.Sprintf("%.0f / %.0f", downloadsBefore, downloadsAfter-downloadsBefore))
	return res, nil
}

// ksResources are the resources a Kustomization's reconcile touches:
// itself, its objects and its events.
var ksResources = []string{"kustomizations", "configmaps", "events", "gitrepositories"}

// withoutBench returns after with the keys named set back to their value
// in before: requests the bench itself makes (its creates, its patches, its
// polling LISTs) are not the controller's.
func withoutBench(before, after map[string]float64, keys ...string) map[string]float64 {
	out := make(map[string]float64, len(after))
	for k, v := range after {
		out[k] = v
	}
	for _, k := range keys {
		out[k] = before[k]
	}
	return out
}

// requestAll requests a reconcile of every Kustomization in ns, as
// `flux reconcile` does, and waits until all n have handled it.
func requestAll(ctx context.Context, env *Env, c client.Client, ns string, n int) error {
	token := time.Now().Format(time.RFC3339Nano)
	var list kustomizev1.KustomizationList
	if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return err
	}
	for i := range list.Items {
		k := &list.Items[i]
		patch := client.MergeFrom(k.DeepCopy())
		k.Annotations = map[string]string{fluxmeta.ReconcileRequestAnnotation: token}
		if err := c.Patch(ctx, k, patch); err != nil {
			return err
		}
	}
	return waitKustomizations(ctx, env, c, ns, n, func(k *kustomizev1.Kustomization) bool {
		return k.Status.LastHandledReconcileAt == token
	})
}

// startFleet serves one Git repository of 3 small ConfigMaps under app/
// and creates namespace ns with the GitRepository "fleet" that follows it;
// stop closes the Git server.
func startFleet(ctx context.Context, c client.Client, ns string) (stop func(), err error) {
	srv, err := gitserver.Start()
	if err != nil {
		return nil, err
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		srv.Close()
		return nil, err
	}
	files := map[string]string{}
	for _, n := range []string{"a", "b", "c"} {
		files["app/"+n+".yaml"] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  key: value-%s\n", n, n)
	}
	if _, err := srv.Commit("bench/fleet.git", "main", "apps", files); err != nil {
		srv.Close()
		return nil, err
	}
	src := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "fleet", Namespace: ns},
		Spec: sourcev1.GitRepositorySpec{URL: srv.URL("bench/fleet.git"), Interval: metav1.Duration{Duration: time.Hour},
			Reference: &sourcev1.GitRepositoryRef{Branch: "main"}},
	}
	if err := c.Create(ctx, src); err != nil {
		srv.Close()
		return nil, err
	}
	return srv.Close, nil
}

// createKustomizations creates ks-0 .. ks-<n-1> in ns, each applying the
// fleet's app/ under its own name prefix "k<i>-".
func createKustomizations(ctx context.Context, c client.Client, ns string, n int, interval time.Duration) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(*createClients)
	for i := range n {
		k := &kustomizev1.Kustomization{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ks-%d", i), Namespace: ns},
			Spec: kustomizev1.KustomizationSpec{
				Interval: metav1.Duration{Duration: interval}, Path: "./app", Prune: true,
				NamePrefix: fmt.Sprintf("k%d-", i), TargetNamespace: ns,
				SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "fleet"},
			},
		}
		g.Go(func() error { return c.Create(ctx, k) })
	}
	return g.Wait()
}

// createClients is how many creates the bench has in flight at once: one
// client creating one object after another made about 70 a second here,
// slower than the controllers apply them, so at scale the bench, not the
// controllers, set the time to Ready.
var createClients = flag.Int("create-clients", 4, "ks, ks-fleet, drift: how many Kustomizations the bench creates at once")

// configMapVersions returns the resourceVersion of each ConfigMap in ns
// whose name starts with prefix, leaving out the cluster's own CA bundle.
func configMapVersions(ctx context.Context, c client.Client, ns, prefix string) (map[string]string, error) {
	var list corev1.ConfigMapList
	if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, cm := range list.Items {
		if strings.HasPrefix(cm.Name, prefix) && cm.Name != "kube-root-ca.crt" {
			out[cm.Name] = cm.ResourceVersion
		}
	}
	return out, nil
}

// waitKustomizations waits until n Kustomizations of ns satisfy ok, read
// from a watch (watchedCount).
func waitKustomizations(ctx context.Context, env *Env, c client.Client, ns string, n int, ok func(*kustomizev1.Kustomization) bool) error {
	watched, stop, err := watching(ctx, env, c, ns, &kustomizev1.Kustomization{})
	if err != nil {
		return err
	}
	defer stop()
	return waitCount(15*time.Minute, n, watchedCount(watched, c, func(r client.Reader) (int, error) {
		var list kustomizev1.KustomizationList
		// Read only: no deep copy of 10,000 objects five times a second.
		err := r.List(ctx, &list, client.InNamespace(ns), client.UnsafeDisableDeepCopy)
		return countWhere(list.Items, ok), err
	}))
}
