// Package v1beta1 holds the source.extensions.fluxcd.io/v1beta1 API:
// ArtifactGenerator, which composes and splits the artifacts of other sources
// into ExternalArtifacts (source.toolkit.fluxcd.io/v1). Group, kind and field
// names follow Flux's source-watcher, so Flux manifests apply unchanged; Flux
// fields Ferry does not implement (the Bucket source kind and the Merge and
// Extract copy strategies) are left out of the schema, so the API server
// rejects them instead of Ferry silently ignoring them.
// +kubebuilder:object:generate=true
// +groupName=source.extensions.fluxcd.io
package v1beta1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion names the API group and version of this package.
	GroupVersion = schema.GroupVersion{Group: "source.extensions.fluxcd.io", Version: "v1beta1"}

	// SchemeBuilder collects the kinds of this package.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds every kind of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
