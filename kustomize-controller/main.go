// Command kustomize-controller builds Kustomizations from source artifacts and applies them to the cluster.
package main

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/kustomize-controller/internal/controller"
	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	policyv1 "github.com/ferrycd/ferry/pkg/apis/policy/v1alpha1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/manager"
	"github.com/ferrycd/ferry/pkg/options"
)

func main() {
	var extra controller.Options
	// Ten Kustomizations at once by default (Flux: 4): a reconcile is a
	// chain of requests, one after another, so four workers left the API
	// server idle between them; at ten, 3,000 new Kustomizations were Ready
	// 5 s after the last was created instead of 51 s (docs/bench/
	// kustomizations.md).
	opts := options.Options{Concurrent: 10}
	manager.ParseFlags(&opts, extra.BindFlags)

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(kustomizev1.AddToScheme(scheme))
	utilruntime.Must(sourcev1.AddToScheme(scheme))
	utilruntime.Must(policyv1.AddToScheme(scheme))
	utilruntime.Must(helmv2.AddToScheme(scheme))
	manager.Run(manager.Controller{
		Name:       "kustomize-controller",
		Scheme:     scheme,
		Reconciled: []client.Object{&kustomizev1.Kustomization{}},
	}, opts, func(s *manager.Setup) error {
		return controller.Setup(context.Background(), s, extra, opts.Concurrent)
	})
}
