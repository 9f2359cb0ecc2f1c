package main

import (
	"context"
	"fmt"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/gitserver"
)

// countedResources are the resources whose API requests the hr scenarios
// report per release.
var countedResources = []string{"helmreleases", "helmcharts", "helmrepositories", "secrets", "configmaps", "events", nonResource}

// runHelmReleases installs N releases of a small chart (3 ConfigMaps, no
// hooks) written the way Flux users write them and Flux's own benchmark
// runs them: spec.chart per release, so one HelmChart each, all from one
// HelmRepository. It measures the time to all Ready and the API requests
// per release, then requests a reconcile of each with nothing changed and
// checks that no release was upgraded and no object written.
func runHelmReleases(ctx context.Context, env *Env) (*Result, error) {
	url, stop, err := serveHelmRepository()
	if err != nil {
		return nil, err
	}
	defer stop()
	const ns = "bench-hr"
	interval := metav1.Duration{Duration: time.Hour}
	repo := &sourcev1.HelmRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "charts", Namespace: ns},
		Spec:       sourcev1.HelmRepositorySpec{URL: url, Interval: interval},
	}
	return benchHelmReleases(ctx, env, ns, []client.Object{repo}, func(hr *helmv2.HelmRelease) {
		hr.Spec.Chart = &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{
			Chart: "small", Version: "1.0.0",
			SourceRef: helmv2.CrossNamespaceObjectReference{Kind: sourcev1.HelmRepositoryKind, Name: "charts"},
		}}
	})
}

// runSharedHelmReleases installs N releases that all share one HelmChart
// (from Git) through spec.chartRef: the chart is fetched and packaged
// once, so the figures are the helm-controller's alone.
func runSharedHelmReleases(ctx context.Context, env *Env) (*Result, error) {
	srv, err := gitserver.Start()
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	files := map[string]string{}
	for name, content := range benchChart {
		files["charts/small/"+name] = content
	}
	if _, err := srv.Commit("bench/charts.git", "main", "chart", files); err != nil {
		return nil, err
	}
	const ns = "bench-hr-shared"
	interval := metav1.Duration{Duration: time.Hour}
	sources := []client.Object{
		&sourcev1.GitRepository{
			ObjectMeta: metav1.ObjectMeta{Name: "charts", Namespace: ns},
			Spec: sourcev1.GitRepositorySpec{URL: srv.URL("bench/charts.git"), Interval: interval,
				Reference: &sourcev1.GitRepositoryRef{Branch: "main"}},
		},
		&sourcev1.HelmChart{
			ObjectMeta: metav1.ObjectMeta{Name: "small", Namespace: ns},
			Spec: sourcev1.HelmChartSpec{Chart: "./charts/small", Interval: interval,
				SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "charts"}},
		},
	}
	return benchHelmReleases(ctx, env, ns, sources, func(hr *helmv2.HelmRelease) {
		hr.Spec.ChartRef = &helmv2.CrossNamespaceSourceReference{Kind: sourcev1.HelmChartKind, Name: "small"}
	})
}

// benchHelmReleases creates namespace ns with the sources, then N
// HelmReleases hr-<i> completed by chart, and measures them.
func benchHelmReleases(ctx context.Context, env *Env, ns string, sources []client.Object, chart func(*helmv2.HelmRelease)) (*Result, error) {
	c, err := benchClient(env)
	if err != nil {
		return nil, err
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return nil, err
	}
	watched, stopWatch, err := watching(ctx, env, c, ns, &helmv2.HelmRelease{})
	if err != nil {
		return nil, err
	}
	defer stopWatch()
	reqBefore, err := apiRequests(ctx, env.Cluster.Config)
	if err != nil {
		return nil, err
	}
	latBefore, err := readAPILatency(ctx, env.Cluster.Config)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	start := time.Now()
	for _, o := range sources {
		if err := c.Create(ctx, o); err != nil {
			return nil, err
		}
	}
	for i := range env.N {
		hr := &helmv2.HelmRelease{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("hr-%d", i), Namespace: ns},
			Spec:       helmv2.HelmReleaseSpec{Interval: metav1.Duration{Duration: time.Hour}},
		}
		chart(hr)
		if err := c.Create(ctx, hr); err != nil {
			return nil, err
		}
	}
	if err := waitHelmReleases(ctx, watched, c, ns, env.N, func(hr *helmv2.HelmRelease) bool {
		return conditions.IsReady(hr) && hr.Status.ObservedGeneration == hr.Generation
	}); err != nil {
		return nil, err
	}
	res.Add(fmt.Sprintf("time to all %d HelmReleases Ready (sources created at the same time)", env.N),
		time.Since(start).Round(time.Millisecond).String())
	reqAfter, err := apiRequests(ctx, env.Cluster.Config)
	if err != nil {
		return nil, err
	}
	res.Add("API server requests per release, install (apiserver_request_total by verb; the bench's creates and LISTs left out)",
		perObject(reqBefore, withoutBench(reqBefore, reqAfter, "post helmreleases", "list helmreleases"), env.N, countedResources...))
	latAfter, err := readAPILatency(ctx, env.Cluster.Config)
	if err != nil {
		return nil, err
	}
	res.Add("API server time by request, install (apiserver_request_duration_seconds: mean, and total over all)",
		latAfter.since(latBefore, env.N, countedResources...))
	if err := chartTimeline(ctx, c, ns, start, res); err != nil {
		return nil, err
	}
	for ctl, kind := range map[string]string{"source-controller": "helmchart", "helm-controller": "helmrelease"} {
		q, err := queueFigures(env.Controllers[ctl].MetricsAddr, kind)
		if err != nil {
			return nil, err
		}
		res.Add(ctl+", "+kind+" work queue, install", q)
	}
	hc := env.Controllers["helm-controller"]
	first, err := reconcileDurations(hc.MetricsAddr, helmv2.HelmReleaseKind)
	if err != nil {
		return nil, err
	}
	var ds []time.Duration
	for _, v := range first {
		ds = append(ds, time.Duration(v*float64(time.Second)))
	}
	p50, p95 := percentiles(ds)
	res.Add("first reconcile p50 (all attempts)", ms(p50))
	res.Add("first reconcile p95", ms(p95))

	versions, err := configMapVersions(ctx, c, ns, "hr-")
	if err != nil {
		return nil, err
	}
	token := time.Now().Format(time.RFC3339Nano)
	var list helmv2.HelmReleaseList
	if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	reqBefore = reqAfter
	start = time.Now()
	for i := range list.Items {
		hr := &list.Items[i]
		patch := client.MergeFrom(hr.DeepCopy())
		hr.Annotations = map[string]string{fluxmeta.ReconcileRequestAnnotation: token}
		if err := c.Patch(ctx, hr, patch); err != nil {
			return nil, err
		}
	}
	if err := waitHelmReleases(ctx, watched, c, ns, env.N, func(hr *helmv2.HelmRelease) bool {
		return hr.Status.LastHandledReconcileAt == token
	}); err != nil {
		return nil, err
	}
	res.Add(fmt.Sprintf("steady-state pass over %d unchanged HelmReleases", env.N), time.Since(start).Round(time.Millisecond).String())
	if reqAfter, err = apiRequests(ctx, env.Cluster.Config); err != nil {
		return nil, err
	}
	res.Add("API server requests per unchanged requested reconcile (by verb; the bench's annotation patches and LISTs left out)",
		perObject(reqBefore, withoutBench(reqBefore, reqAfter, "patch helmreleases", "list helmreleases"), env.N, countedResources...))
	second, err := reconcileDurations(hc.MetricsAddr, helmv2.HelmReleaseKind)
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
	if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	upgraded := 0
	for _, hr := range list.Items {
		if len(hr.Status.History) == 0 || hr.Status.History[0].Version != 1 {
			upgraded++
		}
	}
	res.Add("releases upgraded during the unchanged pass", fmt.Sprint(upgraded))
	after, err := configMapVersions(ctx, c, ns, "hr-")
	if err != nil {
		return nil, err
	}
	written := 0
	for name, rv := range after {
		if versions[name] != rv {
			written++
		}
	}
	res.Add("release objects written during the unchanged pass", fmt.Sprintf("%d of %d", written, len(after)))
	return res, nil
}

// waitHelmReleases waits until n HelmReleases of ns satisfy ok, read from
// a watch (watchedCount).
func waitHelmReleases(ctx context.Context, watched, direct client.Reader, ns string, n int, ok func(*helmv2.HelmRelease) bool) error {
	return waitCount(15*time.Minute, n, watchedCount(watched, direct, func(r client.Reader) (int, error) {
		return countHelmReleases(ctx, r, ns, ok)
	}))
}

// watchedCount counts through watched, a reader served from a watch:
// polling LISTs of thousands of objects took the API server 0.4 s each
// for 500 HelmReleases and most of a core for 10,000 Kustomizations, time
// the controllers' requests queued behind. A watch was once seen to go
// quiet without an error while releases still changed (N=1000, tuned),
// so a count that has not moved for 10 s is taken from direct, a LIST of
// the API server.
func watchedCount(watched, direct client.Reader, count func(client.Reader) (int, error)) func() (int, error) {
	last, moved := -1, time.Now()
	return func() (int, error) {
		n, err := count(watched)
		switch {
		case err != nil:
			return 0, err
		case n != last:
			last, moved = n, time.Now()
			return n, nil
		case time.Since(moved) < 10*time.Second:
			return n, nil
		}
		moved = time.Now()
		return count(direct)
	}
}

func countHelmReleases(ctx context.Context, r client.Reader, ns string, ok func(*helmv2.HelmRelease) bool) (int, error) {
	var list helmv2.HelmReleaseList
	err := r.List(ctx, &list, client.InNamespace(ns))
	return countWhere(list.Items, ok), err
}

// watching returns a reader of ns served from a watch of obj's kind (a
// cache started on the bench client's config and scheme) and a func that
// stops it.
func watching(ctx context.Context, env *Env, c client.Client, ns string, obj client.Object) (client.Reader, func(), error) {
	cfg := *env.Cluster.Config
	cfg.QPS, cfg.Burst = -1, -1
	cch, err := cache.New(&cfg, cache.Options{Scheme: c.Scheme(), DefaultNamespaces: map[string]cache.Config{ns: {}}})
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() { _ = cch.Start(ctx) }()
	if _, err := cch.GetInformer(ctx, obj); err != nil {
		cancel()
		return nil, nil, err
	}
	if !cch.WaitForCacheSync(ctx) {
		cancel()
		return nil, nil, fmt.Errorf("the bench's cache of %s did not sync", ns)
	}
	return cch, cancel, nil
}

// chartTimeline says, from the objects' own timestamps (to the second),
// which side the releases waited on: the last HelmChart artifact after the
// start, each HelmChart's artifact after its creation, and each release's
// Ready after its chart's artifact.
func chartTimeline(ctx context.Context, c client.Client, ns string, start time.Time, res *Result) error {
	var charts sourcev1.HelmChartList
	if err := c.List(ctx, &charts, client.InNamespace(ns)); err != nil {
		return err
	}
	artifactAt := map[string]time.Time{}
	var toArtifact []time.Duration
	var last time.Time
	for _, hc := range charts.Items {
		a := hc.Status.Artifact
		if a == nil {
			continue
		}
		artifactAt[hc.Name] = a.LastUpdateTime.Time
		toArtifact = append(toArtifact, a.LastUpdateTime.Sub(hc.CreationTimestamp.Time))
		if a.LastUpdateTime.After(last) {
			last = a.LastUpdateTime.Time
		}
	}
	var releases helmv2.HelmReleaseList
	if err := c.List(ctx, &releases, client.InNamespace(ns)); err != nil {
		return err
	}
	var toReady []time.Duration
	for _, hr := range releases.Items {
		_, name := hr.Status.GetHelmChart()
		ready := conditions.Get(&hr, fluxmeta.ReadyCondition)
		if at, ok := artifactAt[name]; ok && ready != nil {
			toReady = append(toReady, ready.LastTransitionTime.Sub(at))
		}
	}
	p50, p95 := percentiles(toArtifact)
	res.Add(fmt.Sprintf("%d HelmCharts: last artifact after the start; artifact after the chart's creation p50, p95 (timestamps to the second)", len(charts.Items)),
		fmt.Sprintf("%s; %s, %s", last.Sub(start).Round(time.Second), p50, p95))
	p50, p95 = percentiles(toReady)
	res.Add("release Ready after its chart's artifact p50, p95", fmt.Sprintf("%s, %s", p50, p95))
	return nil
}
