// Command helm-controller installs, upgrades, tests, rolls back and uninstalls HelmReleases.
package main

import (
	"context"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/helm-controller/internal/controller"
	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	policyv1 "github.com/ferrycd/ferry/pkg/apis/policy/v1alpha1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/manager"
	"github.com/ferrycd/ferry/pkg/options"
)

func main() {
	var extra controller.Options
	// Ten releases at once by default (Flux: 4): an install is a chain of
	// requests, one after another, so with four workers the API server was
	// left idle between them; at ten, 1,000 releases were Ready in 32.5 s
	// instead of 38 to 48 s on 2 cores (docs/bench/bench-hr.md), at 25 MiB
	// more memory.
	opts := options.Options{Concurrent: 10}
	manager.ParseFlags(&opts, extra.BindFlags)

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(helmv2.AddToScheme(scheme))
	utilruntime.Must(policyv1.AddToScheme(scheme))
	utilruntime.Must(sourcev1.AddToScheme(scheme))
	utilruntime.Must(kustomizev1.AddToScheme(scheme))
	// valuesFrom ConfigMaps and Secrets labelled for watching requeue their
	// HelmReleases when they change; only those are cached.
	watched := labels.SelectorFromSet(labels.Set{fluxmeta.LabelKeyWatch: fluxmeta.LabelValueWatchEnabled})
	manager.Run(manager.Controller{
		Name:       "helm-controller",
		Scheme:     scheme,
		Reconciled: []client.Object{&helmv2.HelmRelease{}},
		Watched:    map[client.Object]labels.Selector{&corev1.ConfigMap{}: watched, &corev1.Secret{}: watched},
	}, opts, func(s *manager.Setup) error {
		return controller.Setup(context.Background(), s, extra, opts.Concurrent)
	})
}
