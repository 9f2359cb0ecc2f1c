package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	"k8s.io/client-go/rest"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
)

// fleetSteady is how long the ks-fleet scenario measures the steady state.
var fleetSteady = flag.Duration("steady", 5*time.Minute, "ks-fleet: how long the steady state (nothing changing) is measured")

// runKSFleet measures a large fleet through its life: N Kustomizations of
// 3 ConfigMaps (intervals of 10 minutes, as users set them) to Ready, with
// the API server's requests per Kustomization by verb; the steady state
// with all Ready and nothing changing (kustomize-controller's CPU share
// over --steady); then a restart of kustomize-controller with all N
// present: time to ready, to its first reconcile, and until every
// Kustomization was looked at again.
func runKSFleet(ctx context.Context, env *Env) (*Result, error) {
	c, err := benchClient(env)
	if err != nil {
		return nil, err
	}
	const ns = "bench-fleet"
	stop, err := startFleet(ctx, c, ns)
	if err != nil {
		return nil, err
	}
	defer stop()
	res := &Result{}
	apiBefore, err := apiRequests(ctx, env.Cluster.Config)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := createKustomizations(ctx, c, ns, env.N, 10*time.Minute); err != nil {
		return nil, err
	}
	res.Add(fmt.Sprintf("time to create the %d Kustomizations (the bench's client)", env.N), time.Since(start).Round(time.Millisecond).String())
	if err := waitKustomizations(ctx, env, c, ns, env.N, func(k *kustomizev1.Kustomization) bool {
		return conditions.IsReady(k) && k.Status.LastAppliedRevision != ""
	}); err != nil {
		return nil, err
	}
	res.Add(fmt.Sprintf("time to all %d Kustomizations (%d objects) Ready", env.N, 3*env.N), time.Since(start).Round(time.Millisecond).String())
	apiAfter, err := apiRequests(ctx, env.Cluster.Config)
	if err != nil {
		return nil, err
	}
	own := withoutBench(apiBefore, apiAfter, "post kustomizations", "list kustomizations")
	res.Add("API server requests per Kustomization to Ready (by verb; the bench's creates and LISTs left out)",
		perObject(apiBefore, own, env.N, ksResources...))
	res.Add("API server requests per applied object", perObject(apiBefore, own, 3*env.N, ksResources...))
	kc := env.Controllers["kustomize-controller"]
	res.Add("kustomize-controller peak RSS, all applied", fmt.Sprintf("%.1f MiB", float64(kc.PeakRSS())/(1<<20)))

	// Steady state: all Ready, nothing changing. The events of the applies
	// drain first (the recorder posts them after the Kustomizations are
	// Ready), so the window measures the idle controller, not the backlog.
	if err := waitEventsDrained(ctx, env.Cluster.Config, 10*time.Minute); err != nil {
		return nil, err
	}
	apiBefore, _ = apiRequests(ctx, env.Cluster.Config)
	cpuBefore := kc.CPUTime()
	time.Sleep(*fleetSteady)
	cpu := kc.CPUTime() - cpuBefore
	apiAfter, _ = apiRequests(ctx, env.Cluster.Config)
	res.Add(fmt.Sprintf("kustomize-controller CPU in the steady state, averaged over %s", *fleetSteady),
		fmt.Sprintf("%.2f%% of one core", 100*cpu.Seconds()/fleetSteady.Seconds()))
	res.Add(fmt.Sprintf("API server requests in the steady state, over %s (all clients, LISTs left out)", *fleetSteady),
		perObject(apiBefore, withoutBench(apiBefore, apiAfter, "list kustomizations"), 1, ksResources...))

	// Restart with every Kustomization present.
	apiBefore, _ = apiRequests(ctx, env.Cluster.Config)
	kc, err = env.Restart(ctx, "kustomize-controller")
	if err != nil {
		return nil, err
	}
	started := time.Now()
	if err := kc.WaitReady(5 * time.Minute); err != nil {
		return nil, err
	}
	res.Add(fmt.Sprintf("kustomize-controller restart with %d Kustomizations present: ready (caches synced) after", env.N),
		time.Since(started).Round(time.Millisecond).String())
	// Every reconcile of an unchanged Kustomization after a restart
	// dry-runs its objects (nothing is remembered), so the API server's
	// dry-run count tells when the first one ran and when all had.
	dryRuns := func() float64 {
		m, err := apiRequests(ctx, env.Cluster.Config)
		if err != nil {
			return 0
		}
		return m["apply(dry-run) configmaps"] - apiBefore["apply(dry-run) configmaps"]
	}
	first, all, err := waitProgress(started, dryRuns, 3*float64(env.N), 15*time.Minute)
	if err != nil {
		return nil, err
	}
	res.Add("restart: process start to the first reconcile (its first dry-run on the API server, polled every 200 ms)", first.Round(time.Millisecond).String())
	res.Add(fmt.Sprintf("restart: process start until all %d were reconciled once (every object dry-run)", env.N), all.Round(time.Millisecond).String())
	apiAfter, _ = apiRequests(ctx, env.Cluster.Config)
	res.Add("API server requests per Kustomization after the restart (LISTs left out)",
		perObject(apiBefore, withoutBench(apiBefore, apiAfter, "list kustomizations"), env.N, ksResources...))
	return res, nil
}

// waitProgress polls count until it is above zero (first) and then until
// it reaches total (all), both timed from since.
func waitProgress(since time.Time, count func() float64, total float64, timeout time.Duration) (first, all time.Duration, err error) {
	for time.Since(since) < timeout {
		n := count()
		if n > 0 && first == 0 {
			first = time.Since(since)
		}
		if n >= total {
			return first, time.Since(since), nil
		}
		if first == 0 {
			time.Sleep(200 * time.Millisecond)
		} else {
			time.Sleep(time.Second)
		}
	}
	return first, 0, fmt.Errorf("only %.0f of %.0f after %s", count(), total, timeout)
}

// waitEventsDrained waits until the API server has seen no event posted for
// a whole eventQuiet window, or gives up after timeout.
func waitEventsDrained(ctx context.Context, cfg *rest.Config, timeout time.Duration) error {
	const eventQuiet = 10 * time.Second
	deadline := time.Now().Add(timeout)
	last := -1.0
	for time.Now().Before(deadline) {
		counts, err := apiRequests(ctx, cfg)
		if err != nil {
			return err
		}
		if counts["post events"] == last {
			return nil
		}
		last = counts["post events"]
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(eventQuiet):
		}
	}
	return fmt.Errorf("events were still being posted after %s", timeout)
}
