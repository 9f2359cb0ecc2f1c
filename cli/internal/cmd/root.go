// Package cmd holds the cobra commands of the ferry CLI. Commands are thin:
// each parses its flags and calls a package that does the work, so the web
// UI calls the same packages.
package cmd

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// Exit codes shared by every command. ExitChanges is what `ferry diff`
// returns when applying would change something, as kubectl diff does.
const (
	ExitOK      = 0
	ExitChanges = 1
	ExitError   = 2
)

// ExitError carries a command's exit code when it is not a plain failure.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit code %d", e.code)
	}
	return e.err.Error()
}

// WithExitCode makes a command end with code; a nil err prints nothing.
func WithExitCode(code int, err error) error {
	return &exitCodeError{code: code, err: err}
}

// Globals are the flags every command shares: kubectl's -n, -A, --context
// and --kubeconfig (from cli-runtime, so they behave as kubectl's do).
type Globals struct {
	Kube          *genericclioptions.ConfigFlags
	AllNamespaces bool
	IO            genericclioptions.IOStreams
}

// NewRoot builds the ferry command tree writing to streams.
func NewRoot(streams genericclioptions.IOStreams) *cobra.Command {
	g := &Globals{Kube: genericclioptions.NewConfigFlags(true), IO: streams}
	root := &cobra.Command{
		Use:           "ferry",
		Short:         "See, diff and drive GitOps objects with your own Kubernetes RBAC",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	g.Kube.AddFlags(root.PersistentFlags())
	root.PersistentFlags().BoolVarP(&g.AllNamespaces, "all-namespaces", "A", false, "list across all namespaces")
	for _, add := range subcommands {
		root.AddCommand(add(g))
	}
	return root
}

// subcommands holds a constructor per top-level command; each command's
// file registers itself in an init function, so files do not collide.
var subcommands []func(*Globals) *cobra.Command

// Register adds a top-level command constructor.
func Register(f func(*Globals) *cobra.Command) { subcommands = append(subcommands, f) }

// Execute runs the CLI and returns its exit code.
func Execute(args []string, in io.Reader, out, errOut io.Writer) int {
	root := NewRoot(genericclioptions.IOStreams{In: in, Out: out, ErrOut: errOut})
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		if ec.err != nil {
			fmt.Fprintln(errOut, "error:", ec.err)
		}
		return ec.code
	}
	fmt.Fprintln(errOut, "error:", err)
	return ExitError
}
