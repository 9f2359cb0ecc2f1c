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
	fmt.Print(env.Instructions(status))
	<-ctx.Done()
	fmt.Println()
	return nil
}
