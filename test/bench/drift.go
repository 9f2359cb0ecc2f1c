package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
)

// driftIdle is how long the idle cost is measured over.
const driftIdle = 60 * time.Second

// runDrift applies N Kustomizations of 3 ConfigMaps each, then measures
// what watching them for drift costs while nothing changes (the
// kustomize-controller's CPU share and RSS, and the API server's requests),
// what one unchanged reconcile of each costs in API server requests by
// verb, and how fast hand edits are healed: 100 edits, one after the other,
// each timed from the edit until the API server serves Git's value again.
func runDrift(ctx context.Context, env *Env) (*Result, error) {
	c, err := benchClient(env)
	if err != nil {
		return nil, err
	}
	const ns = "bench-drift"
	stop, err := startFleet(ctx, c, ns)
	if err != nil {
		return nil, err
	}
	defer stop()
	res := &Result{}
	start := time.Now()
	if err := createKustomizations(ctx, c, ns, env.N, 10*time.Minute); err != nil {
		return nil, err
	}
	if err := waitKustomizations(ctx, env, c, ns, env.N, func(k *kustomizev1.Kustomization) bool {
		return conditions.IsReady(k) && k.Status.LastAppliedRevision != ""
	}); err != nil {
		return nil, err
	}
	res.Add(fmt.Sprintf("time to all %d Kustomizations (%d objects) Ready", env.N, 3*env.N), time.Since(start).Round(time.Millisecond).String())

	// Idle: watched for drift, nothing changing. Let the first applies'
	// own watch events settle before measuring.
	kc := env.Controllers["kustomize-controller"]
	time.Sleep(10 * time.Second)
	reqBefore, err := apiServerRequests(ctx, env)
	if err != nil {
		return nil, err
	}
	cpuBefore := kc.CPUTime()
	time.Sleep(driftIdle)
	cpu := kc.CPUTime() - cpuBefore
	reqAfter, err := apiServerRequests(ctx, env)
	if err != nil {
		return nil, err
	}
	res.Add(fmt.Sprintf("kustomize-controller CPU while idle, over %s", driftIdle),
		fmt.Sprintf("%.2f%% of one core", 100*cpu.Seconds()/driftIdle.Seconds()))
	res.Add("kustomize-controller peak RSS so far (includes the first applies)", fmt.Sprintf("%.1f MiB", float64(kc.PeakRSS())/(1<<20)))
	res.Add(fmt.Sprintf("API server requests while idle, over %s", driftIdle), verbCounts(reqBefore, reqAfter))

	// One requested reconcile of each, nothing changed.
	reqBefore, _ = apiServerRequests(ctx, env)
	if err := requestAll(ctx, env, c, ns, env.N); err != nil {
		return nil, err
	}
	reqAfter, _ = apiServerRequests(ctx, env)
	res.Add(fmt.Sprintf("API server requests for %d unchanged requested reconciles (incl. the bench's %d annotation patches and its LISTs)", env.N, env.N),
		verbCounts(reqBefore, reqAfter))

	// 100 hand edits, healed by the drift watch (the interval is 10 min).
	var healed []time.Duration
	for i := range 100 {
		name := fmt.Sprintf("k%d-a", i*env.N/100)
		cm := &corev1.ConfigMap{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, cm); err != nil {
			return nil, err
		}
		cm.Data["key"] = fmt.Sprintf("edited by hand %d", i)
		if err := c.Update(ctx, cm); err != nil {
			return nil, err
		}
		edited := time.Now()
		for cm.Data["key"] != "value-a" {
			if time.Since(edited) > time.Minute {
				return nil, fmt.Errorf("ConfigMap %s/%s not healed after a minute", ns, name)
			}
			time.Sleep(5 * time.Millisecond)
			if err := c.Get(ctx, client.ObjectKeyFromObject(cm), cm); err != nil {
				return nil, err
			}
		}
		healed = append(healed, time.Since(edited))
	}
	p50, p95 := percentiles(healed)
	res.Add("drift healed, p50 over 100 hand edits (edit to Git's value served, polled every 5 ms)", ms(p50))
	res.Add("drift healed, p95", ms(p95))
	return res, nil
}

var requestLine = regexp.MustCompile(`^apiserver_request_total\{(.*)\} (\S+)$`)
var verbLabel = regexp.MustCompile(`verb="([^"]+)"`)
var dryRunLabel = regexp.MustCompile(`dry_run="([^"]*)"`)

// apiServerRequests reads the API server's apiserver_request_total, summed
// by verb (dry-runs counted apart as "<verb> dry-run").
func apiServerRequests(ctx context.Context, env *Env) (map[string]float64, error) {
	cs, err := kubernetes.NewForConfig(env.Cluster.Config)
	if err != nil {
		return nil, err
	}
	raw, err := cs.RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := requestLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			return nil, err
		}
		verb := "?"
		if vm := verbLabel.FindStringSubmatch(m[1]); vm != nil {
			verb = vm[1]
		}
		if dm := dryRunLabel.FindStringSubmatch(m[1]); dm != nil && dm[1] != "" {
			verb += " dry-run"
		}
		out[verb] += v
	}
	return out, sc.Err()
}

// verbCounts formats the requests made between two readings, by verb.
func verbCounts(before, after map[string]float64) string {
	var parts []string
	total := 0.0
	for verb, v := range after {
		if d := v - before[verb]; d > 0 {
			parts = append(parts, fmt.Sprintf("%s %.0f", verb, d))
			total += d
		}
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "0"
	}
	return fmt.Sprintf("%.0f (%s)", total, strings.Join(parts, ", "))
}
