package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/ferrycd/ferry/cli/internal/actions"
	"github.com/ferrycd/ferry/cli/internal/kube"
	"github.com/ferrycd/ferry/cli/internal/objects"
)

// Clients connects with the user's kubeconfig and flags.
func (g *Globals) Clients() (*kube.Clients, error) {
	return kube.New(g.Kube)
}

// ListNamespace is "" with -A, else the namespace of -n or the context.
func (g *Globals) ListNamespace(c *kube.Clients) string {
	if g.AllNamespaces {
		return ""
	}
	return c.Namespace
}

// kindAndName reads "<kind> NAME" or "source <kind> NAME" (as `flux
// reconcile source git NAME` has it) from args.
func kindAndName(args []string) (objects.Kind, string, error) {
	if len(args) > 0 && (strings.EqualFold(args[0], "source") || strings.EqualFold(args[0], "sources")) {
		args = args[1:]
		if len(args) != 2 {
			return objects.Kind{}, "", fmt.Errorf("want: source <kind> NAME, e.g. source git podinfo")
		}
		k, err := objects.Lookup(args[0])
		if err == nil && !k.Source {
			err = fmt.Errorf("%s is not a source kind", k.Kind)
		}
		return k, args[1], err
	}
	if len(args) != 2 {
		return objects.Kind{}, "", fmt.Errorf("want: <kind> NAME, e.g. ks apps")
	}
	k, err := objects.Lookup(args[0])
	return k, args[1], err
}

// ref resolves the object args name in the namespace of -n or the context.
func (g *Globals) ref(c *kube.Clients, args []string) (actions.Ref, error) {
	k, name, err := kindAndName(args)
	if err != nil {
		return actions.Ref{}, err
	}
	return actions.Ref{Kind: k, Namespace: c.Namespace, Name: name}, nil
}

// target connects and resolves the object args name.
func (g *Globals) target(args []string) (*kube.Clients, actions.Ref, error) {
	cl, err := g.Clients()
	if err != nil {
		return nil, actions.Ref{}, err
	}
	ref, err := g.ref(cl, args)
	return cl, ref, err
}

// printData writes v as JSON or YAML for scripts.
func printData(w io.Writer, format string, v any) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		data, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	return fmt.Errorf("unknown output format %q: use table, json or yaml", format)
}

// progress prints a step of a long action on standard error, so standard
// output stays the result.
func (g *Globals) progress(format string, args ...any) {
	fmt.Fprintf(g.IO.ErrOut, "► "+format+"\n", args...)
}
