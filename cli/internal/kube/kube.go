// Package kube builds the clients every ferry command and the web UI use
// from the user's own kubeconfig (kubectl's flags), so Ferry can do exactly
// what kubectl would let the user do and needs no privilege of its own.
package kube

import (
	"fmt"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	rolloutsv1alpha1 "github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

// Scheme knows the core kinds and the Flux kinds Ferry serves, for the few
// places that read typed specs (the diff engine builds with a
// Kustomization's or HelmRelease's spec), and Argo Rollouts' kinds, which
// the rollout verbs read and patch typed. Listing and status reading use
// unstructured objects, so a newer or older Flux's fields never break them.
var Scheme = runtime.NewScheme()

func init() {
	// controller-runtime's client logs through its global logger; the CLI
	// reports errors itself and must not print a stack about a logger.
	ctrllog.SetLogger(logr.Discard())
	utilruntime.Must(clientgoscheme.AddToScheme(Scheme))
	utilruntime.Must(sourcev1.AddToScheme(Scheme))
	utilruntime.Must(kustomizev1.AddToScheme(Scheme))
	utilruntime.Must(helmv2.AddToScheme(Scheme))
	utilruntime.Must(rolloutsv1alpha1.AddToScheme(Scheme))
}

// Clients are one kubeconfig context's connection.
type Clients struct {
	// Config is the REST config of the context.
	Config *rest.Config
	// Client reads and writes typed and unstructured objects.
	Client client.Client
	// Namespace is -n, else the context's namespace, else "default".
	Namespace string
}

// New connects with flags (kubectl's -n, --context, --kubeconfig, ...).
func New(flags *genericclioptions.ConfigFlags) (*Clients, error) {
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	ns, _, err := flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig's namespace: %w", err)
	}
	return FromConfig(cfg, ns)
}

// FromConfig connects with a REST config, for tests and the UI's contexts.
func FromConfig(cfg *rest.Config, namespace string) (*Clients, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		// A CLI lists a handful of kinds and walks inventories; client-go's
		// default of 5 QPS makes a tree of 200 objects take 40 seconds.
		cfg.QPS, cfg.Burst = 100, 200
	}
	c, err := client.New(cfg, client.Options{Scheme: Scheme})
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", cfg.Host, err)
	}
	if namespace == "" {
		namespace = "default"
	}
	return &Clients{Config: cfg, Client: c, Namespace: namespace}, nil
}
