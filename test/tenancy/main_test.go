// Package tenancy proves Flux's multi-tenancy lockdown on Ferry: the
// source-, kustomize- and helm-controller run as processes under their own
// ServiceAccounts with --no-cross-namespace-refs, --no-remote-bases and
// --default-service-account=default, so every Kustomization and HelmRelease
// of a tenant namespace that names no ServiceAccount applies as that
// namespace's "default" ServiceAccount, which the tests bind to a Role in
// its own namespace only. A tenant's objects must then fail, with a Ready
// condition that says why, at everything that reaches into another tenant's
// namespace or into cluster scope, and leave the other tenant untouched.
package tenancy

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/gitserver"
	"github.com/ferrycd/ferry/test/harness"
)

// tenantServiceAccount is what the controllers impersonate for objects
// without spec.serviceAccountName, as Flux's lockdown configures it.
const tenantServiceAccount = "default"

// controllers are the ones a tenant's Kustomizations and HelmReleases need.
var controllers = []string{"source-controller", "kustomize-controller", "helm-controller"}

// lockdown are the flags of Flux's multi-tenancy lockdown, per controller.
var lockdown = map[string][]string{
	// The source-controller has no such flag (neither has Flux's): its
	// kinds name no other objects a tenant could reach through.
	"kustomize-controller": {"--no-cross-namespace-refs=true", "--no-remote-bases=true", "--default-service-account=" + tenantServiceAccount},
	"helm-controller":      {"--no-cross-namespace-refs=true", "--default-service-account=" + tenantServiceAccount},
}

var (
	testCluster *cluster.Cluster
	gitSrv      *gitserver.Server
	procs       []*harness.Process
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
	ctx := context.Background()
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(sourcev1.AddToScheme(scheme))
	utilruntime.Must(kustomizev1.AddToScheme(scheme))
	utilruntime.Must(helmv2.AddToScheme(scheme))
	c, err := cluster.Start(cluster.Options{Scheme: scheme})
	if err != nil {
		return 0, err
	}
	testCluster = c
	defer func() { _ = c.Stop() }()
	if gitSrv, err = gitserver.Start(); err != nil {
		return 0, err
	}
	defer gitSrv.Close()

	work, err := os.MkdirTemp("", "ferry-tenancy-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(work)
	if err := harness.Build(work, controllers...); err != nil {
		return 0, err
	}
	if err := harness.InstallRBAC(c, controllers...); err != nil {
		return 0, err
	}
	_, args := harness.Args(work)
	defer func() {
		for _, p := range procs {
			p.Stop()
		}
	}()
	for _, name := range controllers {
		p, err := harness.Start(ctx, c, work, work, name, append(harness.WithoutEvents(args[name]), lockdown[name]...)...)
		if err != nil {
			return 0, err
		}
		procs = append(procs, p)
	}
	for _, p := range procs {
		if err := p.WaitReady(time.Minute); err != nil {
			return 0, fmt.Errorf("%w\n%s", err, p.LogTail(4000))
		}
	}
	code := m.Run()
	if code != 0 {
		for _, p := range procs {
			fmt.Fprintf(os.Stderr, "==> %s <==\n%s\n", p.Name, p.LogTail(6000))
		}
	}
	return code, nil
}
