// Package v1beta3 keeps the notification.toolkit.fluxcd.io/v1beta3 API
// served, so manifests written for Flux before Provider and Alert moved to
// v1 still apply. Its kinds are the v1 kinds under the older version: the
// specs are the v1 types themselves, so both versions have one schema by
// construction and the API server converts between them by changing
// apiVersion alone, with no conversion webhook. Objects are stored at v1 and
// the notification-controller reads v1.
// +kubebuilder:object:generate=true
// +groupName=notification.toolkit.fluxcd.io
package v1beta3

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of the types in this package.
	GroupVersion = schema.GroupVersion{Group: "notification.toolkit.fluxcd.io", Version: "v1beta3"}

	// SchemeBuilder collects the types of this package for registration.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
