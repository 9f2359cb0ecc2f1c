package v1

import (
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// OCIRepositoryKind is the kind name, as used in source references.
	OCIRepositoryKind = "OCIRepository"

	// OCIRepositoryPrefix is the scheme every OCIRepository url starts with.
	OCIRepositoryPrefix = "oci://"

	// OCILayerExtract unpacks the selected layer into the artifact; the
	// default.
	OCILayerExtract = "extract"

	// OCILayerCopy stores the selected layer's tarball unchanged, for example
	// a Helm chart layer that the helm-controller installs as is.
	OCILayerCopy = "copy"
)

// OCIRepositorySpec is which OCI artifact to pull and how often.
type OCIRepositorySpec struct {
	// url is the repository in a registry, as oci://host[:port]/path, without
	// tag or digest (those go in ref).
	// +kubebuilder:validation:Pattern="^oci://.*$"
	// +required
	URL string `json:"url"`

	// ref selects the artifact to pull; the latest tag when unset.
	// +optional
	Reference *OCIRepositoryRef `json:"ref,omitempty"`

	// layerSelector picks the layer to store and whether to extract or copy
	// it; the first layer is extracted when unset.
	// +optional
	LayerSelector *OCILayerSelector `json:"layerSelector,omitempty"`

	// secretRef names a Secret of type kubernetes.io/dockerconfigjson in the
	// same namespace with the registry credentials.
	// +optional
	SecretRef *fluxmeta.LocalObjectReference `json:"secretRef,omitempty"`

	// certSecretRef names a Secret in the same namespace with ca.crt and/or
	// tls.crt and tls.key, for a private CA or client certificates.
	// +optional
	CertSecretRef *fluxmeta.LocalObjectReference `json:"certSecretRef,omitempty"`

	// interval is how often the registry is checked for a new digest.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +required
	Interval metav1.Duration `json:"interval"`

	// timeout bounds each registry operation, so a hanging registry cannot
	// block the reconcile.
	// +kubebuilder:default="60s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// ignore replaces the default exclusion rules with rules in .gitignore
	// format; matching paths are left out of an extracted artifact.
	// +optional
	Ignore *string `json:"ignore,omitempty"`

	// verify makes the controller check the artifact's cosign signature
	// against trusted public keys before it is pulled; an artifact without a
	// valid signature is refused and the previous artifact stays.
	// +optional
	Verify *OCIRepositoryVerification `json:"verify,omitempty"`

	// insecure allows a plain-HTTP registry.
	// +optional
	Insecure bool `json:"insecure,omitempty"`

	// suspend stops reconciliation while true, leaving the last artifact in
	// place.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// OCIRepositoryRef selects the artifact to pull. digest wins over semver,
// semver over tag.
type OCIRepositoryRef struct {
	// digest pins one manifest, as sha256:<hex>.
	// +optional
	Digest string `json:"digest,omitempty"`

	// semver is a version range; the highest matching tag is pulled.
	// +optional
	SemVer string `json:"semver,omitempty"`

	// semverFilter is a regular expression tags must match before the semver
	// range is applied, for example to consider only release candidates.
	// +optional
	SemverFilter string `json:"semverFilter,omitempty"`

	// tag to pull; latest when nothing is set.
	// +optional
	Tag string `json:"tag,omitempty"`
}

// OCILayerSelector picks one layer of an OCI artifact and says what to do
// with it.
type OCILayerSelector struct {
	// mediaType selects the first layer of this media type; the first layer
	// when empty.
	// +optional
	MediaType string `json:"mediaType,omitempty"`

	// operation is extract (unpack the gzipped tarball, the default) or copy
	// (store it unchanged).
	// +kubebuilder:validation:Enum=extract;copy
	// +optional
	Operation string `json:"operation,omitempty"`
}

// OCIRepositoryVerification says how to verify an OCI artifact's signature.
// Ferry verifies cosign signatures made with a key pair (cosign sign --key)
// and stored in the registry under the sha256-<digest>.sig tag. Flux's
// keyless verification (matchOIDCIdentity, Fulcio certificates and the Rekor
// transparency log) and its notation provider are not implemented, so the
// schema rejects them; so does a verify without secretRef, which Flux reads
// as keyless.
type OCIRepositoryVerification struct {
	// provider is the signing technology; only cosign.
	// +kubebuilder:validation:Enum=cosign
	// +kubebuilder:default:=cosign
	// +required
	Provider string `json:"provider"`

	// secretRef names a Secret in the same namespace whose entries ending in
	// .pub hold the trusted public keys (PEM, as cosign generate-key-pair
	// writes cosign.pub); a signature made with any one of them verifies.
	// +required
	SecretRef fluxmeta.LocalObjectReference `json:"secretRef"`
}

// OCIRepositoryStatus is what the source-controller last observed and stored.
type OCIRepositoryStatus struct {
	// observedGeneration is the generation whose reconcile last finished.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions holds Ready, Reconciling, Stalled and the source conditions.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// url is a stable address of the latest stored artifact, kept for clients
	// that predate status.artifact; status.artifact.url is exact.
	// +optional
	URL string `json:"url,omitempty"`

	// artifact is the last artifact stored, which consumers download.
	// +optional
	Artifact *fluxmeta.Artifact `json:"artifact,omitempty"`

	// observedIgnore is the spec.ignore used for the current artifact; a
	// change forces a rebuild.
	// +optional
	ObservedIgnore *string `json:"observedIgnore,omitempty"`

	// observedLayerSelector is the spec.layerSelector used for the current
	// artifact; a change forces a rebuild.
	// +optional
	ObservedLayerSelector *OCILayerSelector `json:"observedLayerSelector,omitempty"`

	fluxmeta.ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:resource:shortName=ocirepo,categories=all;fluxcd;fluxcd-sources
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.spec.url`
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:metadata:annotations="kustomize.toolkit.fluxcd.io/substitute=disabled"

// OCIRepository produces an artifact from one layer of an OCI artifact in a
// container registry.
type OCIRepository struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec OCIRepositorySpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	Status OCIRepositoryStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions.
func (in *OCIRepository) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *OCIRepository) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns spec.interval, the wait before the next check.
func (in *OCIRepository) GetRequeueAfter() time.Duration {
	return in.Spec.Interval.Duration
}

// GetTimeout returns spec.timeout, or DefaultTimeout when unset.
func (in *OCIRepository) GetTimeout() time.Duration {
	return timeoutOrDefault(in.Spec.Timeout)
}

// GetArtifact returns the last stored artifact, or nil.
func (in *OCIRepository) GetArtifact() *fluxmeta.Artifact {
	return in.Status.Artifact
}

// GetLayerMediaType returns the selected media type, or "" for the first
// layer.
func (in *OCIRepository) GetLayerMediaType() string {
	if in.Spec.LayerSelector == nil {
		return ""
	}
	return in.Spec.LayerSelector.MediaType
}

// GetLayerOperation returns the layer operation, OCILayerExtract when unset.
func (in *OCIRepository) GetLayerOperation() string {
	if in.Spec.LayerSelector == nil || in.Spec.LayerSelector.Operation == "" {
		return OCILayerExtract
	}
	return in.Spec.LayerSelector.Operation
}

// +kubebuilder:object:root=true

// OCIRepositoryList is a list of OCIRepository objects.
type OCIRepositoryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []OCIRepository `json:"items"`
}

func init() {
	SchemeBuilder.Register(&OCIRepository{}, &OCIRepositoryList{})
}

// GetReconcileRequestStatus returns the status part that records the last
// handled reconcile.fluxcd.io/requestedAt value.
func (in *OCIRepository) GetReconcileRequestStatus() *fluxmeta.ReconcileRequestStatus {
	return &in.Status.ReconcileRequestStatus
}
