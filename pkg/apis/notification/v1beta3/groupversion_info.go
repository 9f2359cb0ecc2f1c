// Package v1beta3 holds the notification.toolkit.fluxcd.io/v1beta3 API served
// by Ferry's notification-controller: Provider (where and how to send
// notifications) and Alert (which events to send to a Provider). As in Flux,
// both are static objects: they have no status and are read when an event
// arrives, not reconciled on their own.
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
