// Package rollouts runs the GitOps flow of progressive delivery through the
// binaries: the source-controller, kustomize-controller and
// rollout-controller as processes under their own RBAC, a real git server,
// and a full-mode cluster whose kwok node makes the rollouts' pods Ready. A
// commit to Git starts a canary; the tests check who owns which field, and
// what the Kustomization's health checks say of the Rollout at each phase.
package rollouts

import (
	"context"
	"fmt"
	"os"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	rolloutsv1alpha1 "github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/gitserver"
	"github.com/ferrycd/ferry/test/harness"
)

// controllers are the processes the GitOps flow needs.
var controllers = []string{"source-controller", "kustomize-controller", "rollout-controller"}

var (
	env    *cluster.Cluster
	gitSrv *gitserver.Server
	procs  []*harness.Process
)

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(sourcev1.AddToScheme(scheme))
	utilruntime.Must(kustomizev1.AddToScheme(scheme))
	utilruntime.Must(rolloutsv1alpha1.AddToScheme(scheme))
	c, err := cluster.Start(cluster.Options{Mode: cluster.Full, Scheme: scheme})
	if err != nil {
		return 0, err
	}
	defer func() { _ = c.Stop() }()
	env = c
	if gitSrv, err = gitserver.Start(); err != nil {
		return 0, err
	}
	defer gitSrv.Close()
	work, err := os.MkdirTemp("", "ferry-rollouts-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(work)
	if procs, err = harness.StartLocal(context.Background(), c, work, controllers...); err != nil {
		return 0, err
	}
	defer func() {
		for _, p := range procs {
			p.Stop()
		}
	}()
	code := m.Run()
	if code != 0 {
		for _, p := range procs {
			fmt.Fprintf(os.Stderr, "==> %s <==\n%s\n", p.Name, p.LogTail(6000))
		}
	}
	return code, nil
}
