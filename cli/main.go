// Command ferry shows, diffs and drives the GitOps objects of a cluster
// (Flux's sources, Kustomizations and HelmReleases) with the user's own
// kubeconfig, so it can do exactly what kubectl would let the user do.
package main

import (
	"os"

	"github.com/ferrycd/ferry/cli/internal/cmd"
)

func main() {
	os.Exit(cmd.Execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
