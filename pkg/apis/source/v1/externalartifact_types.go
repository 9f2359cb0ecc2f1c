package v1

import (
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ExternalArtifactKind is the kind name, as used in the sourceRef of a
// Kustomization or the chartRef of a HelmRelease.
const ExternalArtifactKind = "ExternalArtifact"

// ExternalArtifactRequeueAfter is how often consumers look at an
// ExternalArtifact again when no watch event arrives. An ExternalArtifact has
// no interval of its own: its producer (an ArtifactGenerator or any other
// controller) updates status.artifact whenever the content changes.
const ExternalArtifactRequeueAfter = time.Minute

// ExternalArtifactSpec says which object produces the artifact. It is written
// by the producer, not by users.
type ExternalArtifactSpec struct {
	// sourceRef names the custom resource this artifact is generated for, for
	// example the ArtifactGenerator that owns it. The namespace defaults to
	// the ExternalArtifact's own.
	// +optional
	SourceRef *fluxmeta.NamespacedObjectKindReference `json:"sourceRef,omitempty"`
}

// ExternalArtifactStatus is the artifact the producer last stored, in the same
// shape as every other source's, so consumers fetch and verify it the same way.
type ExternalArtifactStatus struct {
	// artifact is the last artifact the producer stored, which consumers
	// download and verify against its digest.
	// +optional
	Artifact *fluxmeta.Artifact `json:"artifact,omitempty"`

	// conditions holds Ready (True once status.artifact can be fetched) and,
	// while they hold, Reconciling and Stalled.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=ea,categories=all;fluxcd;fluxcd-sources
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:printcolumn:name="Source",type="string",JSONPath=".spec.sourceRef.name"
// +kubebuilder:metadata:annotations="kustomize.toolkit.fluxcd.io/substitute=disabled"

// ExternalArtifact is an artifact produced by a controller other than the
// source kinds' own reconcilers (Ferry's ArtifactGenerator, or a third-party
// producer following Flux's RFC-0012). Kustomizations and HelmReleases consume
// it through sourceRef/chartRef like any other source.
type ExternalArtifact struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ExternalArtifactSpec   `json:"spec,omitempty"`
	Status ExternalArtifactStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions.
func (in *ExternalArtifact) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *ExternalArtifact) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns ExternalArtifactRequeueAfter: the kind has no
// interval, its producer pushes every change.
func (in *ExternalArtifact) GetRequeueAfter() time.Duration {
	return ExternalArtifactRequeueAfter
}

// GetArtifact returns the last stored artifact, or nil.
func (in *ExternalArtifact) GetArtifact() *fluxmeta.Artifact {
	return in.Status.Artifact
}

// +kubebuilder:object:root=true

// ExternalArtifactList is a list of ExternalArtifact objects.
type ExternalArtifactList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ExternalArtifact `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ExternalArtifact{}, &ExternalArtifactList{})
}
