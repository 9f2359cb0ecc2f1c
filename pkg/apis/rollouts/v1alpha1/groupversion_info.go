// Package v1alpha1 holds the argoproj.io/v1alpha1 API that Ferry's
// rollout-controller serves: the subset of Argo Rollouts' Rollout,
// AnalysisTemplate, ClusterAnalysisTemplate and AnalysisRun that canary and
// blue-green delivery with metric analysis need. Field names and meanings
// follow Argo Rollouts' specs, so manifests written for it apply unchanged;
// a field Ferry does not implement is left out of the schema, so the API
// server rejects it instead of silently ignoring it.
// +kubebuilder:object:generate=true
// +groupName=argoproj.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of the types in this package.
	GroupVersion = schema.GroupVersion{Group: "argoproj.io", Version: "v1alpha1"}

	// SchemeBuilder collects the types of this package for registration.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
