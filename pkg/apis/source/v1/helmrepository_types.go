package v1

import (
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// HelmRepositoryKind is the kind name, as used in source references.
	HelmRepositoryKind = "HelmRepository"

	// HelmRepositoryTypeDefault is an HTTP/S chart repository serving an
	// index.yaml; it is what an empty spec.type means.
	HelmRepositoryTypeDefault = "default"

	// HelmRepositoryTypeOCI is an OCI registry holding charts. Such a
	// HelmRepository stores no artifact; HelmCharts read its URL and
	// credentials.
	HelmRepositoryTypeOCI = "oci"

	// DefaultHelmRepositoryInterval is used when spec.interval is unset,
	// which Flux allows for HelmRepository.
	DefaultHelmRepositoryInterval = time.Minute
)

// HelmRepositorySpec is where a Helm chart repository lives and how to reach
// it.
type HelmRepositorySpec struct {
	// url is the repository address: http(s):// for an index-based
	// repository, oci:// for a registry.
	// +kubebuilder:validation:Pattern="^(http|https|oci)://.*$"
	// +required
	URL string `json:"url"`

	// secretRef names a Secret in the same namespace with username and
	// password (or, for OCI, a dockerconfigjson). TLS keys in it are still
	// read but certSecretRef is preferred.
	// +optional
	SecretRef *fluxmeta.LocalObjectReference `json:"secretRef,omitempty"`

	// certSecretRef names a Secret in the same namespace with ca.crt and/or
	// tls.crt and tls.key, for a private CA or client certificates. It wins
	// over TLS keys in secretRef.
	// +optional
	CertSecretRef *fluxmeta.LocalObjectReference `json:"certSecretRef,omitempty"`

	// passCredentials sends the secretRef credentials also to hosts other than
	// the one in url, for indexes whose chart URLs point elsewhere. Off by
	// default because it can leak credentials to a third party.
	// +optional
	PassCredentials bool `json:"passCredentials,omitempty"`

	// interval is how often the index is fetched; one minute when unset.
	// Ignored for OCI repositories, which store no artifact.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Interval metav1.Duration `json:"interval,omitempty"`

	// insecure allows plain-HTTP registries; only used with type oci.
	// +optional
	Insecure bool `json:"insecure,omitempty"`

	// timeout bounds the index fetch, and chart pulls from an OCI repository;
	// 60s when unset.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// suspend stops reconciliation while true, leaving the last artifact in
	// place.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// type is "default" for an index-based repository or "oci" for a
	// registry, whose url must then start with oci://. Empty means default.
	// +kubebuilder:validation:Enum=default;oci
	// +optional
	Type string `json:"type,omitempty"`
}

// HelmRepositoryStatus is what the source-controller last observed and
// stored.
type HelmRepositoryStatus struct {
	// observedGeneration is the generation whose reconcile last finished.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions holds Ready, Reconciling, Stalled and the source conditions.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// url is a stable address of the latest stored index, kept for clients
	// that predate status.artifact; status.artifact.url is exact.
	// +optional
	URL string `json:"url,omitempty"`

	// artifact is the last index stored, which HelmCharts read.
	// +optional
	Artifact *fluxmeta.Artifact `json:"artifact,omitempty"`

	fluxmeta.ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:resource:shortName=helmrepo,categories=all;fluxcd;fluxcd-sources
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.spec.url`
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:metadata:annotations="kustomize.toolkit.fluxcd.io/substitute=disabled"

// HelmRepository produces an artifact of a Helm repository index, or, with
// type oci, records where an OCI registry of charts is.
type HelmRepository struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec HelmRepositorySpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	Status HelmRepositoryStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions.
func (in *HelmRepository) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *HelmRepository) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns spec.interval, or DefaultHelmRepositoryInterval
// when unset; zero for type oci, which has nothing to fetch.
func (in *HelmRepository) GetRequeueAfter() time.Duration {
	if in.Spec.Type == HelmRepositoryTypeOCI {
		return 0 // a static object: only a spec change matters
	}
	if in.Spec.Interval.Duration > 0 {
		return in.Spec.Interval.Duration
	}
	return DefaultHelmRepositoryInterval
}

// GetTimeout returns spec.timeout, or DefaultTimeout when unset.
func (in *HelmRepository) GetTimeout() time.Duration {
	return timeoutOrDefault(in.Spec.Timeout)
}

// GetArtifact returns the last stored artifact, or nil.
func (in *HelmRepository) GetArtifact() *fluxmeta.Artifact {
	return in.Status.Artifact
}

// +kubebuilder:object:root=true

// HelmRepositoryList is a list of HelmRepository objects.
type HelmRepositoryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []HelmRepository `json:"items"`
}

func init() {
	SchemeBuilder.Register(&HelmRepository{}, &HelmRepositoryList{})
}

// GetReconcileRequestStatus returns the status part that records the last
// handled reconcile.fluxcd.io/requestedAt value.
func (in *HelmRepository) GetReconcileRequestStatus() *fluxmeta.ReconcileRequestStatus {
	return &in.Status.ReconcileRequestStatus
}
