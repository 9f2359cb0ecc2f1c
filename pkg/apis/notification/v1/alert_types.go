package v1

import (
	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AlertKind is the kind name of Alert objects.
const AlertKind string = "Alert"

// Event severities an Alert can filter on; they are the severities the
// controllers put on the events they post.
const (
	// EventSeverityInfo forwards every event, errors included.
	EventSeverityInfo string = "info"

	// EventSeverityError forwards only error events.
	EventSeverityError string = "error"
)

// AlertSpec says which events to forward and to which Provider.
type AlertSpec struct {
	// providerRef names the Provider, in the Alert's namespace, that the
	// matching events are sent to.
	// +required
	ProviderRef fluxmeta.LocalObjectReference `json:"providerRef"`

	// eventSeverity is the lowest severity forwarded: "info" forwards all
	// events, "error" only errors.
	// +kubebuilder:validation:Enum=info;error
	// +kubebuilder:default:=info
	// +optional
	EventSeverity string `json:"eventSeverity,omitempty"`

	// eventSources selects the objects whose events are forwarded.
	// +required
	EventSources []CrossNamespaceObjectReference `json:"eventSources"`

	// inclusionList holds Go regular expressions; when set, only events
	// whose message matches one of them are forwarded.
	// +optional
	InclusionList []string `json:"inclusionList,omitempty"`

	// eventMetadata is added to the metadata of every forwarded event; a key
	// the event already carries keeps the event's value.
	// +optional
	EventMetadata map[string]string `json:"eventMetadata,omitempty"`

	// exclusionList holds Go regular expressions; events whose message
	// matches one of them are dropped, even if the inclusion list matched.
	// +optional
	ExclusionList []string `json:"exclusionList,omitempty"`

	// summary is a short text about impact and cluster, added to forwarded
	// events as the "summary" metadata key. Kept for Flux manifests;
	// eventMetadata with a "summary" key does the same.
	// +kubebuilder:validation:MaxLength:=255
	// +optional
	Summary string `json:"summary,omitempty"`

	// suspend stops this Alert from forwarding events while true.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description=""

// Alert forwards the events of selected objects, filtered by severity and
// message, to a Provider.
type Alert struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the filter and the destination of the Alert.
	// +required
	Spec AlertSpec `json:"spec"`
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
