// Package e2e proves the supply-chain promise end to end: the
// source-controller and kustomize-controller binaries run as processes under
// their own RBAC against a local cluster, a Kustomization consumes an
// OCIRepository with spec.verify from a loopback registry, and nothing from
// an unsigned or wrongly signed artifact reaches the cluster.
package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/harness"
)

var testCluster *cluster.Cluster

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
	c, err := cluster.Start(cluster.Options{Scheme: scheme})
	if err != nil {
		return 0, err
	}
	testCluster = c
	defer func() { _ = c.Stop() }()
	work, err := os.MkdirTemp("", "ferry-verify-e2e-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(work)
	procs, err := harness.StartLocal(context.Background(), c, work, "source-controller", "kustomize-controller")
	if err != nil {
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
			fmt.Fprintf(os.Stderr, "==> %s <==\n%s\n", p.Name, p.LogTail(4000))
		}
	}
	return code, nil
}
