// Package v1 holds the notification.toolkit.fluxcd.io/v1 API served by
// Ferry's notification-controller, as Flux 2.10 serves it: Provider (where
// and how to send notifications), Alert (which events to send to a
// Provider), Receiver (which turns an incoming webhook into reconcile
// requests for the objects it names), plus the references, condition reasons
// and finalizer the whole group shares. v1 is the storage version of all
// three; Provider and Alert are also served at v1beta3 with the same schema.
// As in Flux, Providers and Alerts are static objects: they have no status
// and are read when an event arrives, not reconciled on their own.
// +kubebuilder:object:generate=true
// +groupName=notification.toolkit.fluxcd.io
package v1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of the types in this package.
	GroupVersion = schema.GroupVersion{Group: "notification.toolkit.fluxcd.io", Version: "v1"}

	// SchemeBuilder collects the types of this package for registration.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
