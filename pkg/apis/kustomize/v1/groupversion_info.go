// Package v1 holds the Kustomization API (kustomize.toolkit.fluxcd.io/v1),
// served with Flux's group, kind, field names, defaults and validation so that
// Flux Kustomization manifests apply to Ferry unchanged. Flux fields that Ferry
// does not implement are left out of the schema: the API server rejects them
// instead of Ferry ignoring them silently.
// +kubebuilder:object:generate=true
// +groupName=kustomize.toolkit.fluxcd.io
package v1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of the Kustomization API.
	GroupVersion = schema.GroupVersion{Group: "kustomize.toolkit.fluxcd.io", Version: "v1"}

	// SchemeBuilder collects the types of this group version so that a
	// controller can add them to its scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this group version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
