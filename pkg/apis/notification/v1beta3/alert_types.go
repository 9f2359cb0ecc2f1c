package v1beta3

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
)

// AlertSpec is the v1 Alert spec; the alias keeps Go code written against
// v1beta3 compiling.
type AlertSpec = notificationv1.AlertSpec

// +kubebuilder:object:root=true
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description=""

// Alert forwards the events of selected objects, filtered by severity and
// message, to a Provider.
type Alert struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the filter and the destination of the Alert.
	// +required
	Spec notificationv1.AlertSpec `json:"spec"`
}

// +kubebuilder:object:root=true

// AlertList is a list of Alerts.
type AlertList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the Alerts in the list.
	// +required
	Items []Alert `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Alert{}, &AlertList{})
}
