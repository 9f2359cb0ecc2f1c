package main

import (
	"context"
	"fmt"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/gitserver"
)

// runGitRepos creates N GitRepositories, each on its own repository of the
// local git server, measures the time until all are Ready, then requests a
// reconcile of each with nothing changed and measures those reconciles.
func runGitRepos(ctx context.Context, env *Env) (*Result, error) {
	c, err := benchClient(env)
	if err != nil {
		return nil, err
	}
	srv, err := gitserver.Start()
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	const ns = "bench-gitrepos"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return nil, err
	}
	for i := range env.N {
		repo := fmt.Sprintf("bench/repo-%d.git", i)
		if _, err := srv.Commit(repo, "main", "init", map[string]string{
			"deploy/app.yaml": fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-%d\n", i),
		}); err != nil {
			return nil, err
		}
	}
	res := &Result{}
	start := time.Now()
	for i := range env.N {
		obj := &sourcev1.GitRepository{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("repo-%d", i), Namespace: ns},
			Spec: sourcev1.GitRepositorySpec{
				URL: srv.URL(fmt.Sprintf("bench/repo-%d.git", i)), Interval: metav1.Duration{Duration: time.Hour},
				Reference: &sourcev1.GitRepositoryRef{Branch: "main"},
			},
		}
		if err := c.Create(ctx, obj); err != nil {
			return nil, err
		}
	}
	if err := waitAll(ctx, c, ns, env.N, 10*time.Minute, func(o *sourcev1.GitRepository) bool {
		return conditions.IsReady(o) && o.Status.Artifact != nil
	}); err != nil {
		return nil, err
	}
	res.Add(fmt.Sprintf("time to all %d GitRepositories Ready", env.N), time.Since(start).Round(time.Millisecond).String())

	sc := env.Controllers["source-controller"]
	before, err := reconcileDurations(sc.MetricsAddr, sourcev1.GitRepositoryKind)
	if err != nil {
		return nil, err
	}
	clonesBefore, _ := counter(sc.MetricsAddr, "ferry_gitrepository_clones_total")
	token := time.Now().Format(time.RFC3339Nano)
	start = time.Now()
	var list sourcev1.GitRepositoryList
	if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	for i := range list.Items {
		o := &list.Items[i]
		patch := client.MergeFrom(o.DeepCopy())
		o.Annotations = map[string]string{fluxmeta.ReconcileRequestAnnotation: token}
		if err := c.Patch(ctx, o, patch); err != nil {
			return nil, err
		}
	}
	if err := waitAll(ctx, c, ns, env.N, 10*time.Minute, func(o *sourcev1.GitRepository) bool {
		return o.Status.LastHandledReconcileAt == token
	}); err != nil {
		return nil, err
	}
	res.Add(fmt.Sprintf("steady-state pass over %d unchanged GitRepositories", env.N), time.Since(start).Round(time.Millisecond).String())
	after, err := reconcileDurations(sc.MetricsAddr, sourcev1.GitRepositoryKind)
	if err != nil {
		return nil, err
	}
	var ds []time.Duration
	for k, v := range after {
		ds = append(ds, time.Duration((v-before[k])*float64(time.Second)))
	}
	p50, p95 := percentiles(ds)
	res.Add("unchanged reconcile p50", ms(p50))
	res.Add("unchanged reconcile p95", ms(p95))
	clonesAfter, _ := counter(sc.MetricsAddr, "ferry_gitrepository_clones_total")
	res.Add("clones during the steady-state pass", fmt.Sprintf("%.0f", clonesAfter-clonesBefore))
	return res, nil
}

// waitAll polls until n GitRepositories in ns satisfy ok.
func waitAll(ctx context.Context, c client.Client, ns string, n int, timeout time.Duration, ok func(*sourcev1.GitRepository) bool) error {
	return waitCount(timeout, n, func() (int, error) {
		var list sourcev1.GitRepositoryList
		err := c.List(ctx, &list, client.InNamespace(ns))
		return countWhere(list.Items, ok), err
	})
}

// waitCount polls count until it reaches n or timeout passes.
func waitCount(timeout time.Duration, n int, count func() (int, error)) error {
	var err error
	done := 0
	// Listing hundreds of objects is not free: poll gently.
	ok := poll(timeout, 200*time.Millisecond, func() bool {
		done, err = count()
		return err != nil || done == n
	})
	if err != nil {
		return err
	}
	if ok != nil {
		return fmt.Errorf("only %d of %d objects reached the state within %s", done, n, timeout)
	}
	return nil
}

// countWhere counts the items for which ok holds.
func countWhere[T any](items []T, ok func(*T) bool) int {
	n := 0
	for i := range items {
		if ok(&items[i]) {
			n++
		}
	}
	return n
}

func benchClient(env *Env) (client.Client, error) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(sourcev1.AddToScheme(scheme))
	utilruntime.Must(kustomizev1.AddToScheme(scheme))
	utilruntime.Must(notificationv1.AddToScheme(scheme))
	utilruntime.Must(helmv2.AddToScheme(scheme))
	cfg := *env.Cluster.Config
	cfg.QPS, cfg.Burst = 500, 1000
	return client.New(&cfg, client.Options{Scheme: scheme})
}
