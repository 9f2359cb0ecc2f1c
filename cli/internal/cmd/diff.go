package cmd

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/ferrycd/ferry/cli/internal/diff"
	"github.com/ferrycd/ferry/cli/internal/kube"
	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
)

func init() {
	Register(newDiff)
	Register(newBuild)
}

func newDiff(g *Globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "diff ks|hr NAME",
		Short: "Show what applying now would change, per object, as a unified diff",
		Long: `Build a Kustomization (or render a HelmRelease) exactly as the controller does, ask the API
server for a server-side dry-run with the controller's apply options, and print what would be
created, changed, replaced and pruned, and any live drift. Secret values show as *** with
(before)/(after) markers; SOPS-encrypted files are never decrypted.

Exit codes: 0 no change, 1 changes, 2 error.`,
	}
	c.AddCommand(newDiffKS(g), newDiffHR(g))
	return c
}

// ksFlags are the flags diff ks and build ks share.
type ksFlags struct {
	path, file string
	output     string
}

func (f *ksFlags) bind(c *cobra.Command) {
	c.Flags().StringVar(&f.path, "path", "", "build this local directory instead of the source artifact's spec.path")
	c.Flags().StringVarP(&f.file, "file", "f", "", "read the Kustomization from this file (for one that does not exist yet)")
}

// kustomizationRequest finds the Kustomization to build: from -f, from the
// cluster, or, with --path and a name that does not exist, a bare one
// whose every object shows as created.
func (g *Globals) kustomizationRequest(cmd *cobra.Command, cl *kube.Clients, name string, f ksFlags) (diff.KustomizationRequest, error) {
	req := diff.KustomizationRequest{LocalPath: f.path}
	ks := &kustomizev1.Kustomization{}
	err := cl.Client.Get(cmd.Context(), client.ObjectKey{Namespace: cl.Namespace, Name: name}, ks)
	switch {
	case err == nil:
		req.Exists = true
	case !apierrors.IsNotFound(err):
		return req, fmt.Errorf("reading Kustomization %s/%s: %w", cl.Namespace, name, err)
	case f.file == "" && f.path == "":
		return req, fmt.Errorf("Kustomization %s/%s not found: give its spec with -f FILE or a directory with --path", cl.Namespace, name)
	default:
		ks = &kustomizev1.Kustomization{}
		ks.Name, ks.Namespace = name, cl.Namespace
	}
	if f.file != "" {
		data, err := os.ReadFile(f.file)
		if err != nil {
			return req, err
		}
		fromFile := &kustomizev1.Kustomization{}
		if err := yaml.UnmarshalStrict(data, fromFile); err != nil {
			return req, fmt.Errorf("reading %s: %w", f.file, err)
		}
		if fromFile.Name != "" && fromFile.Name != name {
			return req, fmt.Errorf("%s holds Kustomization %q, not %q", f.file, fromFile.Name, name)
		}
		if fromFile.Namespace != "" && fromFile.Namespace != cl.Namespace {
			return req, fmt.Errorf("%s holds a Kustomization in namespace %q; pass -n %s", f.file, fromFile.Namespace, fromFile.Namespace)
		}
		// The spec under review, with the live status (inventory) when
		// the Kustomization exists.
		ks.Spec = fromFile.Spec
	}
	req.Kustomization = ks
	return req, nil
}

// kustomization connects and finds the Kustomization to build.
func (g *Globals) kustomization(cmd *cobra.Command, name string, f ksFlags) (*kube.Clients, diff.KustomizationRequest, error) {
	cl, err := g.Clients()
	if err != nil {
		return nil, diff.KustomizationRequest{}, err
	}
	req, err := g.kustomizationRequest(cmd, cl, name, f)
	return cl, req, err
}

func (g *Globals) artifacts(cl *kube.Clients) *diff.Artifacts {
	return &diff.Artifacts{Config: cl.Config}
}

func newDiffKS(g *Globals) *cobra.Command {
	var f ksFlags
	c := &cobra.Command{
		Use:     "ks NAME",
		Aliases: []string{"kustomization"},
		Short:   "Diff a Kustomization against the cluster",
		Example: `  ferry diff ks apps                 # the source artifact vs the cluster
  ferry diff ks apps --path ./apps   # a local change under review
  ferry diff ks new --path ./new     # one that does not exist yet: everything is created`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, req, err := g.kustomization(cmd, args[0], f)
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			e := &diff.Engine{Client: cl.Client}
			res, err := e.Kustomization(cmd.Context(), req, g.artifacts(cl))
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			return g.printDiff(res, f.output)
		},
	}
	f.bind(c)
	c.Flags().StringVarP(&f.output, "output", "o", "diff", "output format: diff, json or yaml")
	return c
}

// printDiff prints a result and turns it into the exit code: 0 no change,
// 1 changes.
func (g *Globals) printDiff(res *diff.Result, output string) error {
	var err error
	if output == "" || output == "diff" {
		err = diff.Print(g.IO.Out, res, g.color())
	} else {
		err = printData(g.IO.Out, output, res)
	}
	if err != nil {
		return WithExitCode(ExitError, err)
	}
	if res.Changed() {
		return WithExitCode(ExitChanges, nil)
	}
	return nil
}

// color is true when standard output is a terminal and NO_COLOR is unset.
func (g *Globals) color() bool {
	f, ok := g.IO.Out.(*os.File)
	return ok && os.Getenv("NO_COLOR") == "" && term.IsTerminal(int(f.Fd()))
}

func newBuild(g *Globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "build ks NAME --path DIR",
		Short: "Print the manifests the controller would apply, Secrets masked",
	}
	var f ksFlags
	ks := &cobra.Command{
		Use:     "ks NAME",
		Aliases: []string{"kustomization"},
		Short:   "Build a Kustomization's manifests as kustomize-controller does",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, req, err := g.kustomization(cmd, args[0], f)
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			e := &diff.Engine{Client: cl.Client}
			b, err := e.BuildKustomization(cmd.Context(), req, g.artifacts(cl))
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			for _, n := range b.Notes {
				fmt.Fprintln(g.IO.ErrOut, "note:", n)
			}
			for _, s := range b.Skipped {
				fmt.Fprintf(g.IO.ErrOut, "note: %s skipped: %s\n", s.Ref, s.Note)
			}
			return diff.WriteManifests(g.IO.Out, b.Objects, diff.Owner{
				Group: diff.KustomizeOwnerGroup, Name: req.Kustomization.Name, Namespace: req.Kustomization.Namespace,
			})
		},
	}
	f.bind(ks)
	c.AddCommand(ks)
	return c
}

func newDiffHR(g *Globals) *cobra.Command {
	var chartDir, output string
	var values []string
	c := &cobra.Command{
		Use:     "hr NAME",
		Aliases: []string{"helmrelease"},
		Short:   "Diff a HelmRelease's render against the cluster",
		Example: `  ferry diff hr web                          # the source's chart and the composed values
  ferry diff hr web --values new-values.yaml  # what a values change would do
  ferry diff hr web --chart ./charts/web      # a local chart under review`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := g.Clients()
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			hr := &helmv2.HelmRelease{}
			if err := cl.Client.Get(cmd.Context(), client.ObjectKey{Namespace: cl.Namespace, Name: args[0]}, hr); err != nil {
				return WithExitCode(ExitError, fmt.Errorf("reading HelmRelease %s/%s: %w", cl.Namespace, args[0], err))
			}
			cs, err := kubernetes.NewForConfig(cl.Config)
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			e := &diff.Engine{Client: cl.Client}
			res, err := e.HelmRelease(cmd.Context(), diff.HelmReleaseRequest{
				HelmRelease: hr, ChartDir: chartDir, ValuesFiles: values,
			}, g.artifacts(cl), cs)
			if err != nil {
				return WithExitCode(ExitError, err)
			}
			return g.printDiff(res, output)
		},
	}
	c.Flags().StringVar(&chartDir, "chart", "", "render this local chart directory instead of the source's chart")
	c.Flags().StringArrayVar(&values, "values", nil, "merge this values file over the composed values (repeatable; later files win)")
	c.Flags().StringVarP(&output, "output", "o", "diff", "output format: diff, json or yaml")
	return c
}
