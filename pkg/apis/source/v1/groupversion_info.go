// Package v1 holds the source.toolkit.fluxcd.io/v1 API served by Ferry's
// source-controller: GitRepository, HelmRepository, HelmChart and
// OCIRepository, plus ExternalArtifact, which the ArtifactGenerator (or any
// other producer) writes. Group, kinds, field names, defaults and validation
// follow Flux's v1 source API so existing Flux manifests apply unchanged; a
// Flux field Ferry does not implement is left out of the schema, so the API
// server rejects it instead of Ferry silently ignoring it.
// +kubebuilder:object:generate=true
// +groupName=source.toolkit.fluxcd.io
package v1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion names the API group and version every kind in this package
	// is served under.
	GroupVersion = schema.GroupVersion{Group: "source.toolkit.fluxcd.io", Version: "v1"}

	// SchemeBuilder collects the kinds of this package; each types file
	// registers its kind and list in init.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds every kind of this package to a runtime.Scheme, so
	// clients and managers can encode and decode them.
	AddToScheme = SchemeBuilder.AddToScheme
)
