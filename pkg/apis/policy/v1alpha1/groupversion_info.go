// Package v1alpha1 holds the policy.ferrycd.io/v1alpha1 API: Ferry's
// additions to Flux's kinds that Flux has no place for, starting with
// SyncWindow (Argo CD's sync windows for Kustomizations and HelmReleases).
// +kubebuilder:object:generate=true
// +groupName=policy.ferrycd.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of the types in this package.
	GroupVersion = schema.GroupVersion{Group: "policy.ferrycd.io", Version: "v1alpha1"}

	// SchemeBuilder collects the types of this package for registration.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
