// Package e2e runs the four controllers as real processes, each under its own
// ServiceAccount and the RBAC from config/rbac, against a local cluster, and
// checks what users and Flux's tools see.
package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
	notificationv1beta3 "github.com/ferrycd/ferry/pkg/apis/notification/v1beta3"
	policyv1 "github.com/ferrycd/ferry/pkg/apis/policy/v1alpha1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/gitserver"
	"github.com/ferrycd/ferry/test/harness"
)

var (
	testCluster *cluster.Cluster
	gitSrv      *gitserver.Server
	// receiverAddr is where the notification-controller takes webhooks.
	receiverAddr string
	// restart starts a controller again after a test killed it.
	restart     func(name string) (*harness.Process, error)
	controllers = map[string]*harness.Process{}
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
	utilruntime.Must(notificationv1.AddToScheme(scheme))
	utilruntime.Must(notificationv1beta3.AddToScheme(scheme))
	utilruntime.Must(policyv1.AddToScheme(scheme))

	c, err := cluster.Start(cluster.Options{Scheme: scheme})
	if err != nil {
		return 0, err
	}
	testCluster = c
	defer func() { _ = c.Stop() }()

	work, err := os.MkdirTemp("", "ferry-e2e-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(work)
	if err := harness.Build(work, harness.Controllers...); err != nil {
		return 0, err
	}
	if err := harness.InstallRBAC(c, harness.Controllers...); err != nil {
		return 0, err
	}
	if gitSrv, err = gitserver.Start(); err != nil {
		return 0, err
	}
	defer gitSrv.Close()
	addrs, extra := harness.Args(work)
	receiverAddr = addrs.Receiver
	restart = func(name string) (*harness.Process, error) {
		p, err := harness.Start(ctx, c, work, work, name, extra[name]...)
		if err == nil {
			controllers[name] = p
		}
		return p, err
	}
	for _, name := range harness.Controllers {
		p, err := harness.Start(ctx, c, work, work, name, extra[name]...)
		if err != nil {
			return 0, err
		}
		controllers[name] = p
	}
	defer func() {
		for _, p := range controllers {
			p.Stop()
		}
	}()
	for _, p := range controllers {
		if err := p.WaitReady(60e9); err != nil {
			return 0, err
		}
	}
	code := m.Run()
	if code != 0 {
		for _, p := range controllers {
			if out, err := os.ReadFile(p.LogPath); err == nil {
				fmt.Fprintf(os.Stderr, "==> %s <==\n%s\n", p.Name, tail(string(out), 4000))
			}
		}
	}
	return code, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
