package v1beta3

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
)

// ProviderSpec is the v1 Provider spec; the alias keeps Go code written
// against v1beta3 compiling.
type ProviderSpec = notificationv1.ProviderSpec

// GenericProvider is the v1 generic type, kept for Go code written against
// v1beta3; the other types are in v1.
const GenericProvider = notificationv1.GenericProvider

// +kubebuilder:object:root=true
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description=""

// Provider is a destination for notifications: a chat, a webhook, an alert
// manager or a Git host's commit status API.
type Provider struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the destination and how to reach it.
	// +required
	Spec notificationv1.ProviderSpec `json:"spec"`
}

// +kubebuilder:object:root=true

// ProviderList is a list of Providers.
type ProviderList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the Providers in the list.
	// +required
	Items []Provider `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Provider{}, &ProviderList{})
}
