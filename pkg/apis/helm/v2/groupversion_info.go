// Package v2 holds the HelmRelease API (helm.toolkit.fluxcd.io/v2), served
// with Flux's group, kind, field names, defaults and validation so that Flux
// HelmRelease manifests apply to Ferry unchanged. Flux fields that Ferry does
// not implement are left out of the schema: the API server rejects them
// instead of Ferry ignoring them silently.
// +kubebuilder:object:generate=true
// +groupName=helm.toolkit.fluxcd.io
package v2

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of the HelmRelease API.
	GroupVersion = schema.GroupVersion{Group: "helm.toolkit.fluxcd.io", Version: "v2"}

	// SchemeBuilder collects the types of this group version so that a
	// controller can add them to its scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this group version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
