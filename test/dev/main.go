// Command dev is `make dev`: it starts the development environment of
// package devenv, waits for the sample GitOps repository to reconcile,
// prints its status and how to use it, and keeps running until Ctrl-C, then
// cleans up everything it started.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ferrycd/ferry/test/devenv"
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
	env, err := devenv.Start(ctx, os.Stdout)
	defer func() {
		fmt.Println("==> stopping and cleaning up")
		env.Stop()
	}()
	if err != nil {
		return err
	}
	if err := env.WaitReady(ctx, 5*time.Minute); err != nil {
		return err
	}
	status, err := env.Status()
	if err != nil {
		return err
	}
	kubectl := env.Cluster.BinDir + "/kubectl"
	fmt.Printf(`
%s
Ferry is running on a local cluster, reconciling the sample repository.

  export KUBECONFIG=%s
  %s get fluxcd -A
  %s get deploy,svc,cm,secret -n apps
  %s get helmreleases -A

Push a change and watch it apply (the GitRepository polls every minute;
the reconcile annotation makes it fetch at once):

  git clone %s fleet && cd fleet
  sed -i 's/hello from Ferry/hello again/' apps/base/config.yaml
  git commit -am "change greeting" && git push
  %s annotate gitrepository fleet -n ferry-system --overwrite reconcile.fluxcd.io/requestedAt="$(date +%%s)"
  %s get cm web -n apps -o jsonpath='{.data.greeting}'

Controller logs: %s/*.log
Press Ctrl-C to stop; everything started here is cleaned up.
`, status, env.Kubeconfig, kubectl, kubectl, kubectl, env.Git.URL(devenv.SampleRepo), kubectl, kubectl, env.Work)
	<-ctx.Done()
	fmt.Println()
	return nil
}
