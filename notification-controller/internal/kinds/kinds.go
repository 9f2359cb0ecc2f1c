// Package kinds maps the Flux kinds that Alerts and Receivers may name to the
// group and version Ferry serves them at.
//
// Both the event server (reading an object's labels for matchLabels) and the
// webhook receiver (annotating objects) resolve kinds through this one table
// instead of trusting an apiVersion from a request or an old manifest: a
// manifest written for source.toolkit.fluxcd.io/v1beta2 still reaches the v1
// objects, and no request can make the controller watch an arbitrary kind.
package kinds

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

// served is every kind an Alert or Receiver may reference, at the version
// Ferry serves.
var served = map[string]schema.GroupVersion{
	sourcev1.GitRepositoryKind:    sourcev1.GroupVersion,
	sourcev1.HelmRepositoryKind:   sourcev1.GroupVersion,
	sourcev1.HelmChartKind:        sourcev1.GroupVersion,
	sourcev1.OCIRepositoryKind:    sourcev1.GroupVersion,
	kustomizev1.KustomizationKind: kustomizev1.GroupVersion,
	helmv2.HelmReleaseKind:        helmv2.GroupVersion,
}

// Resolve returns the served GroupVersionKind for kind. apiVersion may be
// empty; when set, only its group must agree, since older Flux versions of
// the same group map to the served one.
func Resolve(apiVersion, kind string) (schema.GroupVersionKind, error) {
	gv, ok := served[kind]
	if !ok {
		return schema.GroupVersionKind{}, fmt.Errorf("kind %q is not one the notification-controller can reference", kind)
	}
	if apiVersion != "" {
		want, err := schema.ParseGroupVersion(apiVersion)
		if err != nil || want.Group != gv.Group {
			return schema.GroupVersionKind{}, fmt.Errorf("apiVersion %q does not serve kind %s; use %s", apiVersion, kind, gv.String())
		}
	}
	return gv.WithKind(kind), nil
}
