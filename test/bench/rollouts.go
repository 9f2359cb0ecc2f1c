package main

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/watch"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rolloutsv1alpha1 "github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
)

// The rollouts scenario registers itself here, so that it lives in one
// file with its helpers.
func init() {
	scenarios["rollouts"] = Scenario{
		Doc: "Rollouts of 2 replicas on the kwok node, all Healthy, then an image change of every one at once stepping through " +
			"a canary (setWeight 20, pause 5s, setWeight 60, pause 5s, setWeight 100) to Healthy: time per step from each " +
			"Rollout's status transitions, total time, API requests per Rollout",
		Controllers: []string{"rollout-controller"}, DefaultN: 100, Run: runRollouts,
	}
}

// rolloutSteps are the benchmark's canary steps; rolloutStepNames name
// the figure of each in the report, plus the last stretch from the end of
// the steps to Healthy on the new stable ReplicaSet.
var (
	rolloutSteps = []rolloutsv1alpha1.CanaryStep{
		{SetWeight: ptr.To[int32](20)},
		{Pause: &rolloutsv1alpha1.RolloutPause{Duration: ptr.To(intstr.FromString("5s"))}},
		{SetWeight: ptr.To[int32](60)},
		{Pause: &rolloutsv1alpha1.RolloutPause{Duration: ptr.To(intstr.FromString("5s"))}},
		{SetWeight: ptr.To[int32](100)},
	}
	rolloutStepNames = []string{"setWeight 20", "pause 5s", "setWeight 60", "pause 5s", "setWeight 100", "all steps done to Healthy (stable switched)"}
)

// rolloutResources are the resources whose requests count as the
// rollout's: its own, the ReplicaSets and Services it writes, the pods the
// ReplicaSets' controller makes, and the events.
var rolloutResources = []string{"rollouts", "replicasets", "services", "pods", "events"}

// runRollouts measures N canaries at once. Each Rollout's step times come
// from its status as a watch delivers it: the time currentStepIndex moved
// past a step minus the time it reached it (step 0 starts at the image
// change), and the last step ends when the phase is Healthy on the new
// template.
func runRollouts(ctx context.Context, env *Env) (*Result, error) {
	c, err := rolloutsClient(env)
	if err != nil {
		return nil, err
	}
	const ns = "bench-rollouts"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return nil, err
	}
	res := &Result{}
	res.Add("machine load average (1, 5, 15 min) when the Rollouts were created", machineLoad())
	start := time.Now()
	for i := range env.N {
		if err := c.Create(ctx, benchRollout(ns, fmt.Sprintf("web-%04d", i))); err != nil {
			return nil, err
		}
	}
	healthy := func(hash map[string]string) func(ro *rolloutsv1alpha1.Rollout) bool {
		return func(ro *rolloutsv1alpha1.Rollout) bool {
			return ro.Status.Phase == rolloutsv1alpha1.RolloutPhaseHealthy && ro.Status.ObservedGeneration == ro.Generation &&
				(hash == nil || ro.Status.StableRS != hash[ro.Name]) && ro.Status.AvailableReplicas == 2
		}
	}
	first, err := waitRollouts(ctx, c, ns, env.N, 15*time.Minute, healthy(nil))
	if err != nil {
		return nil, err
	}
	res.Add(fmt.Sprintf("time to all %d Rollouts Healthy (created, %d pods Ready)", env.N, 2*env.N), time.Since(start).Round(time.Millisecond).String())
	stable := map[string]string{}
	for _, ro := range first {
		stable[ro.Name] = ro.Status.StableRS
	}

	w, err := c.Watch(ctx, &rolloutsv1alpha1.RolloutList{}, client.InNamespace(ns))
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	rc := env.Controllers["rollout-controller"]
	cpuBefore := rc.CPUTime()
	apiBefore, err := apiRequests(ctx, env.Cluster.Config)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	for _, ro := range first {
		patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"web:2"}]}}}}`)
		if err := c.Patch(ctx, &ro, client.RawPatch(types.MergePatchType, patch)); err != nil {
			return nil, err
		}
	}
	patched := time.Since(t0)
	reached, err := followSteps(ctx, w, stable, env.N, t0, 20*time.Minute)
	if err != nil {
		return nil, err
	}
	total := time.Since(t0)
	cpu := rc.CPUTime() - cpuBefore
	apiAfter, err := apiRequests(ctx, env.Cluster.Config)
	if err != nil {
		return nil, err
	}
	res.Add("machine load average (1, 5, 15 min) when the canaries ended", machineLoad())
	res.Add(fmt.Sprintf("the bench's image patches of the %d Rollouts took", env.N), patched.Round(time.Millisecond).String())
	for i, name := range rolloutStepNames {
		var ds []time.Duration
		for _, times := range reached {
			ds = append(ds, times[i+1].Sub(times[i]))
		}
		p50, p95 := percentiles(ds)
		res.Add(fmt.Sprintf("%d. %s, median / p95 over the Rollouts", i+1, name), ms(p50)+" / "+ms(p95))
	}
	var ends []time.Duration
	for _, times := range reached {
		ends = append(ends, times[len(times)-1].Sub(t0))
	}
	p50, p95 := percentiles(ends)
	res.Add("image change to Healthy on the new template, median / p95 over the Rollouts", ms(p50)+" / "+ms(p95))
	res.Add(fmt.Sprintf("image change to all %d Rollouts Healthy on the new template (total)", env.N), total.Round(time.Millisecond).String())
	res.Add("rollout-controller CPU time during the canaries", cpu.Round(time.Millisecond).String())
	res.Add("API server requests per Rollout during the canaries (all clients by verb; the bench's patches left out; pods and replicasets/status are kube-controller-manager's and kwok's)",
		perObject(apiBefore, withoutBench(apiBefore, apiAfter, "patch rollouts"), env.N, rolloutResources...))
	return res, nil
}

// followSteps reads the watch until every Rollout is Healthy on a new
// stable ReplicaSet and returns, per Rollout, when it reached each step:
// times[0] is t0 (the image change), times[i] the first status with
// currentStepIndex i, and the last entry the first Healthy status.
func followSteps(ctx context.Context, w watch.Interface, stable map[string]string, n int, t0 time.Time, timeout time.Duration) (map[string][]time.Time, error) {
	steps := len(rolloutSteps)
	reached := map[string][]time.Time{}
	done := map[string]bool{}
	deadline := time.After(timeout)
	for len(done) < n {
		var ev watch.Event
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline:
			return nil, fmt.Errorf("only %d of %d Rollouts Healthy on the new template after %s", len(done), n, timeout)
		case e, ok := <-w.ResultChan():
			if !ok {
				return nil, fmt.Errorf("the watch of Rollouts ended with %d of %d done", len(done), n)
			}
			ev = e
		}
		ro, ok := ev.Object.(*rolloutsv1alpha1.Rollout)
		if !ok || done[ro.Name] || ro.Status.CurrentPodHash == stable[ro.Name] {
			continue
		}
		now := time.Now()
		times := reached[ro.Name]
		if times == nil {
			times = make([]time.Time, steps+2)
			times[0] = t0
		}
		if ro.Status.CurrentStepIndex != nil {
			for i := 1; i <= int(*ro.Status.CurrentStepIndex) && i <= steps; i++ {
				if times[i].IsZero() {
					times[i] = now
				}
			}
		}
		if ro.Status.Phase == rolloutsv1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash {
			for i := 1; i <= steps+1; i++ {
				if times[i].IsZero() {
					times[i] = now
				}
			}
			done[ro.Name] = true
		}
		reached[ro.Name] = times
	}
	return reached, nil
}

// waitRollouts polls until all n Rollouts in ns satisfy ok and returns
// them.
func waitRollouts(ctx context.Context, c client.Client, ns string, n int, timeout time.Duration, ok func(*rolloutsv1alpha1.Rollout) bool) ([]rolloutsv1alpha1.Rollout, error) {
	var list rolloutsv1alpha1.RolloutList
	count := 0
	err := poll(timeout, time.Second, func() bool {
		if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return false
		}
		count = 0
		for i := range list.Items {
			if ok(&list.Items[i]) {
				count++
			}
		}
		return count >= n
	})
	if err != nil {
		return nil, fmt.Errorf("%d of %d Rollouts: %w", count, n, err)
	}
	return list.Items, nil
}

// benchRollout is a Rollout of two replicas with an inline template and
// the benchmark's steps.
func benchRollout(ns, name string) *rolloutsv1alpha1.Rollout {
	labels := map[string]string{"app": name}
	return &rolloutsv1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: rolloutsv1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:1"}}},
			},
			Strategy: rolloutsv1alpha1.RolloutStrategy{Canary: &rolloutsv1alpha1.CanaryStrategy{Steps: rolloutSteps}},
		},
	}
}

// rolloutsClient is the bench's client with the Rollout kinds, watches
// included.
func rolloutsClient(env *Env) (client.WithWatch, error) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(rolloutsv1alpha1.AddToScheme(scheme))
	cfg := *env.Cluster.Config
	cfg.QPS, cfg.Burst = 500, 1000
	return client.NewWithWatch(&cfg, client.Options{Scheme: scheme})
}
