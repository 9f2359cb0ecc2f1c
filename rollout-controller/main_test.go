package main

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/harness"
	"github.com/ferrycd/ferry/test/suite"
)

const name = "rollout-controller"

var (
	env  *cluster.Cluster
	work string
)

// TestMain builds the rollout-controller binary and starts a full-mode
// cluster (pods become Ready on the kwok node) with the Gateway API's
// HTTPRoute CRD and the controller's RBAC installed; each test runs the
// binary under its own ServiceAccount.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	dir, err := os.MkdirTemp("", "rollout-controller-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	work = dir
	if err := harness.Build(work, name); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	crds, err := cluster.GatewayAPICRDs()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c, err := cluster.Start(cluster.Options{Mode: cluster.Full, Scheme: scheme, ExtraCRDs: crds})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = c.Stop() }()
	env = c
	if err := harness.InstallRBAC(c, name); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// startController runs the binary with its flags from the harness, events
// to the API server only.
func startController(t *testing.T) *harness.Process {
	t.Helper()
	_, args := harness.Args(work)
	p, err := harness.Start(context.Background(), env, work, work, name, harness.WithoutEvents(args[name])...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(p.LogTail(4000))
		}
		p.Stop()
	})
	if err := p.WaitReady(time.Minute); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBinaryResumesMidRollout: the binary, under its own RBAC, runs a
// canary to a pause step; killed there and started again, it resumes at
// that step (the pause that began before the crash is the same pause, not
// a restart from step 0), and a promote finishes the rollout.
func TestBinaryResumesMidRollout(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	first := startController(t)
	ns := suite.NewNamespace(t, env.Client, "binary-")

	ro := canaryRollout(ns, v1alpha1.CanaryStep{SetWeight: ptr.To[int32](50)}, v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{}})
	g.Expect(env.Client.Create(ctx, ro)).To(Succeed())
	key := client.ObjectKeyFromObject(ro)
	get := func(g Gomega) *v1alpha1.Rollout {
		got := &v1alpha1.Rollout{}
		g.Expect(env.Client.Get(ctx, key, got)).To(Succeed())
		return got
	}
	g.Eventually(func(g Gomega) {
		g.Expect(get(g).Status.Phase).To(Equal(v1alpha1.RolloutPhaseHealthy))
	}, time.Minute, 200*time.Millisecond).Should(Succeed())

	suite.Edit(t, env.Client, ro, func(r *v1alpha1.Rollout) {
		r.Spec.Template.Spec.Containers[0].Image = "web:2"
	}, time.Minute)
	var paused *v1alpha1.Rollout
	g.Eventually(func(g Gomega) {
		paused = get(g)
		g.Expect(paused.Status.Phase).To(Equal(v1alpha1.RolloutPhasePaused), "message: %s", paused.Status.Message)
		g.Expect(paused.Status.CurrentStepIndex).To(HaveValue(Equal(int32(1))))
		g.Expect(paused.Status.PauseConditions).To(HaveLen(1))
		g.Expect(paused.Status.AvailableReplicas).To(Equal(int32(2)))
	}, time.Minute, 200*time.Millisecond).Should(Succeed())

	first.Kill()
	startController(t)
	// The restarted controller sees the same pause: same step, same start.
	g.Consistently(func(g Gomega) {
		got := get(g)
		g.Expect(got.Status.CurrentStepIndex).To(HaveValue(Equal(int32(1))))
		g.Expect(got.Status.PauseConditions).To(Equal(paused.Status.PauseConditions))
		g.Expect(got.Status.CurrentPodHash).To(Equal(paused.Status.CurrentPodHash))
		g.Expect(got.Status.StableRS).To(Equal(paused.Status.StableRS))
	}, 3*time.Second, 200*time.Millisecond).Should(Succeed())

	g.Expect(env.Client.Status().Patch(ctx, paused,
		client.RawPatch(types.MergePatchType, []byte(`{"status":{"pauseConditions":null}}`)))).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := get(g)
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.RolloutPhaseHealthy), "message: %s", got.Status.Message)
		g.Expect(got.Status.StableRS).To(Equal(paused.Status.CurrentPodHash))
		g.Expect(got.Status.AvailableReplicas).To(Equal(int32(2)))
		g.Expect(got.Status.Replicas).To(Equal(int32(2)))
	}, time.Minute, 200*time.Millisecond).Should(Succeed())
}
