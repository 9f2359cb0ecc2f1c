// Command dev is `make dev`: it starts a full-mode local cluster with Ferry's
// CRDs, runs the four controllers against it as separate processes under
// their own ServiceAccounts, prints how to use kubectl against it, and keeps
// running until Ctrl-C, then cleans up everything it started.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/harness"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "make dev:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	step("starting the local cluster (kube-apiserver, etcd, controller-manager, scheduler, kwok node)")
	c, err := cluster.Start(cluster.Options{Mode: cluster.Full})
	if err != nil {
		return err
	}
	defer func() {
		step("stopping the local cluster")
		_ = c.Stop()
	}()

	work, err := os.MkdirTemp("", "ferry-dev-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	kubeconfig := filepath.Join(work, "kubeconfig")
	data, err := os.ReadFile(c.KubeconfigPath)
	if err != nil {
		return err
	}
	if err := os.WriteFile(kubeconfig, data, 0o600); err != nil {
		return err
	}

	step("building the controllers")
	if err := harness.Build(work, harness.Controllers...); err != nil {
		return err
	}
	step("installing RBAC into " + harness.Namespace)
	if err := harness.InstallRBAC(c, harness.Controllers...); err != nil {
		return err
	}
	extra := map[string][]string{
		"source-controller": {
			"--storage-path=" + filepath.Join(work, "storage"),
			"--storage-addr=" + harness.FreeAddr(),
		},
	}
	var procs []*harness.Process
	defer func() {
		for _, p := range procs {
			p.Stop()
		}
	}()
	for _, name := range harness.Controllers {
		step("starting " + name)
		p, err := harness.Start(ctx, c, work, work, name, extra[name]...)
		if err != nil {
			return err
		}
		procs = append(procs, p)
		if err := p.WaitReady(time.Minute); err != nil {
			return err
		}
	}

	fmt.Printf(`
Ferry is running on a local cluster.

  export KUBECONFIG=%s
  %s/kubectl get crds | grep fluxcd
  %s/kubectl apply -f config/samples/
  %s/kubectl get fluxcd -A

Controller logs: %s/*.log
Press Ctrl-C to stop; everything started here is cleaned up.
`, kubeconfig, c.BinDir, c.BinDir, c.BinDir, work)

	<-ctx.Done()
	fmt.Println()
	return nil
}

func step(msg string) {
	fmt.Printf("==> %s\n", msg)
}
