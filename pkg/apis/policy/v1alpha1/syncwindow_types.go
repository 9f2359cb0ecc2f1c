package v1alpha1

import (
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SyncWindowKind is the kind name.
const SyncWindowKind = "SyncWindow"

// SyncWindowConditionType is the condition a Kustomization or HelmRelease
// carries while a sync window blocks it.
const SyncWindowConditionType = "SyncWindow"

// Reasons of the SyncWindow condition and of a window's Ready condition.
const (
	// BlockedReason: a window blocks the object's sync now.
	BlockedReason = "SyncWindowBlocked"
	// ManualSyncReason: a window blocks, but let an explicit reconcile
	// request through (manualSync).
	ManualSyncReason = "ManualSyncAllowed"
	// InvalidWindowReason: the schedule, duration or time zone does not
	// parse; the window blocks nothing.
	InvalidWindowReason = "InvalidWindow"
	// ActiveReason: the window is valid and active now.
	ActiveReason = "Active"
	// InactiveReason: the window is valid and not active now.
	InactiveReason = "Inactive"
	// SuspendedReason: the window is suspended and blocks nothing.
	SuspendedReason = "Suspended"
)

// SyncWindowSpec says when the selected objects may or may not sync.
type SyncWindowSpec struct {
	// kind is allow (syncs only while an allow window is active) or deny
	// (no syncs while active).
	// +kubebuilder:validation:Enum=allow;deny
	// +required
	Kind string `json:"kind"`

	// schedule is a cron expression (five fields, or @daily-style
	// descriptors) for when the window opens.
	// +kubebuilder:validation:MinLength=1
	// +required
	Schedule string `json:"schedule"`

	// duration is how long the window stays active after each opening,
	// e.g. 10h.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +required
	Duration metav1.Duration `json:"duration"`

	// timeZone is the IANA time zone the schedule is read in, e.g.
	// Europe/Berlin; UTC when empty.
	// +optional
	TimeZone string `json:"timeZone,omitempty"`

	// manualSync lets an explicit reconcile request
	// (reconcile.fluxcd.io/requestedAt) through while this window blocks.
	// +optional
	ManualSync bool `json:"manualSync,omitempty"`

	// suspend switches the window off, so it blocks nothing: the emergency
	// override, granted by whoever may edit SyncWindows.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// selector picks the Kustomizations and HelmReleases of this namespace
	// the window applies to; an empty selector picks all of them.
	// +optional
	Selector SyncWindowSelector `json:"selector,omitempty"`
}

// SyncWindowSelector picks objects by kind, name glob and labels; an object
// must match every part that is set.
type SyncWindowSelector struct {
	// kinds limits the window to these kinds; both when empty.
	// +optional
	Kinds []SelectableKind `json:"kinds,omitempty"`

	// names are shell-style globs (app-*, *-prod) of object names; all
	// names when empty.
	// +optional
	Names []string `json:"names,omitempty"`

	// labelSelector matches the objects' labels.
	// +optional
	LabelSelector *metav1.LabelSelector `json:"labelSelector,omitempty"`
}

// SelectableKind is a kind a sync window can select.
// +kubebuilder:validation:Enum=Kustomization;HelmRelease
type SelectableKind string

// SyncWindowStatus says whether the window is valid and active.
type SyncWindowStatus struct {
	// observedGeneration is the last generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// active is true while the window is open (for allow) or closed (for
	// deny) now.
	// +optional
	Active bool `json:"active,omitempty"`

	// nextChange is when active next flips, when known.
	// +optional
	NextChange *metav1.Time `json:"nextChange,omitempty"`

	// conditions holds Ready: False with the parse error for an invalid
	// window, True otherwise.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	fluxmeta.ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=sw,categories=all;fluxcd
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Kind",type="string",JSONPath=".spec.kind"
// +kubebuilder:printcolumn:name="Schedule",type="string",JSONPath=".spec.schedule"
// +kubebuilder:printcolumn:name="Duration",type="string",JSONPath=".spec.duration"
// +kubebuilder:printcolumn:name="Active",type="boolean",JSONPath=".status.active"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"

// SyncWindow allows or denies syncs of the Kustomizations and HelmReleases
// it selects on a schedule, with Argo CD's rules for combining windows: any
// active deny blocks; if allow windows exist and none is active, blocked;
// otherwise allowed.
type SyncWindow struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   SyncWindowSpec   `json:"spec,omitempty"`
	Status SyncWindowStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions.
func (in *SyncWindow) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions replaces the status conditions.
func (in *SyncWindow) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// GetReconcileRequestStatus returns the handled reconcile request.
func (in *SyncWindow) GetReconcileRequestStatus() *fluxmeta.ReconcileRequestStatus {
	return &in.Status.ReconcileRequestStatus
}

// GetRequeueAfter is the time until the window's active state flips, so its
// status is right when it does; at most an hour.
func (in *SyncWindow) GetRequeueAfter() time.Duration {
	if in.Status.NextChange == nil {
		return time.Hour
	}
	d := time.Until(in.Status.NextChange.Time) + time.Second
	return min(max(d, time.Second), time.Hour)
}

// +kubebuilder:object:root=true

// SyncWindowList is a list of SyncWindows.
type SyncWindowList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SyncWindow `json:"items"`
}

func init() {
	SchemeBuilder.Register(&SyncWindow{}, &SyncWindowList{})
}
