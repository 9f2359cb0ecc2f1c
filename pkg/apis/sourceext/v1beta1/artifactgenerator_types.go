package v1beta1

import (
	"strings"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// ArtifactGeneratorKind is the kind name, as found in the sourceRef of
	// the ExternalArtifacts a generator owns.
	ArtifactGeneratorKind = "ArtifactGenerator"

	// Finalizer lets the controller delete a generator's ExternalArtifacts
	// and their stored files before the generator is gone. The value is
	// Flux's, so objects moved between Flux and Ferry keep working.
	Finalizer = "source.extensions.fluxcd.io/finalizer"

	// ReconcileAnnotation set to "Disabled" (any case) suspends a generator,
	// as in Flux; the kind has no spec.suspend.
	ReconcileAnnotation = "source.extensions.fluxcd.io/reconcile"

	// DisabledValue is the ReconcileAnnotation value that suspends.
	DisabledValue = "disabled"

	// ArtifactAlias is the alias that names the generated artifact's root in
	// copy destinations ("@artifact/...").
	ArtifactAlias = "artifact"

	// OriginRevisionKey is the artifact metadata key that carries the
	// revision named by originRevision: the OCI revision annotation, which
	// Flux's appliers report as the origin revision.
	OriginRevisionKey = "org.opencontainers.image.revision"

	// DefaultInterval is how often a generator checks its sources when no
	// watch event arrives; the kind has no interval of its own because
	// every source change is watched.
	DefaultInterval = time.Hour
)

// Condition reasons, as Flux names them.
const (
	// SourceFetchFailedReason means a source does not exist, has no artifact
	// yet, or its artifact could not be downloaded.
	SourceFetchFailedReason = "SourceFetchFailed"

	// BuildFailedReason means a copy operation failed, for example because
	// its pattern matched nothing.
	BuildFailedReason = "BuildFailed"

	// ValidationFailedReason means the spec cannot work as written (an
	// unknown alias, a duplicate name); it stalls until the spec changes.
	ValidationFailedReason = "ValidationFailed"

	// AccessDeniedReason means a cross-namespace source was named while
	// cross-namespace references are disabled.
	AccessDeniedReason = "AccessDenied"
)

// ArtifactGeneratorSpec names the sources and the artifacts built from them.
type ArtifactGeneratorSpec struct {
	// sources are the source objects whose artifacts the copy operations read,
	// each under a unique alias.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1000
	// +required
	Sources []SourceReference `json:"sources"`

	// artifacts are the ExternalArtifacts to generate, one per entry, in the
	// generator's namespace.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1000
	// +required
	OutputArtifacts []OutputArtifact `json:"artifacts"`
}

// SourceReference names one source object and the alias copy operations use
// for it.
type SourceReference struct {
	// alias names the source in copy operations ("@alias/..."); unique within
	// the generator.
	// +kubebuilder:validation:Pattern="^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$"
	// +kubebuilder:validation:MaxLength=63
	// +required
	Alias string `json:"alias"`

	// kind of the source.
	// +kubebuilder:validation:Enum=GitRepository;OCIRepository;HelmChart;ExternalArtifact
	// +required
	Kind string `json:"kind"`

	// name of the source.
	// +kubebuilder:validation:Pattern="^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// namespace of the source; the generator's own when empty.
	// +kubebuilder:validation:Pattern="^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// OutputArtifact is one ExternalArtifact and the copy operations that fill it.
type OutputArtifact struct {
	// name of the ExternalArtifact; unique within the generator.
	// +kubebuilder:validation:Pattern="^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// revision, as "@alias", makes the artifact's revision that source's
	// revision. When empty the revision is latest@sha256:<digest of the
	// content>, so it changes only when the content does.
	// +kubebuilder:validation:Pattern="^@([a-z0-9]([a-z0-9_-]*[a-z0-9])?)$"
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Revision string `json:"revision,omitempty"`

	// originRevision, as "@alias", records that source's revision in the
	// artifact metadata (under org.opencontainers.image.revision) without
	// changing the artifact's revision: consumers can report the monorepo
	// commit an artifact came from, yet see a new artifact only when its
	// content changed.
	// +kubebuilder:validation:Pattern="^@([a-z0-9]([a-z0-9_-]*[a-z0-9])?)$"
	// +kubebuilder:validation:MaxLength=64
	// +optional
	OriginRevision string `json:"originRevision,omitempty"`

	// copy operations run in order; a later one overwrites files an earlier
	// one wrote.
	// +kubebuilder:validation:MinItems=1
	// +required
	Copy []CopyOperation `json:"copy"`
}

// CopyOperation copies files from a source artifact into the generated one,
// with cp-like semantics:
//
//   - "@src/file" to "@artifact/dir/" copies to dir/file; to "@artifact/f"
//     copies to the file f.
//   - "@src/dir/" (or "@src/dir") copies the directory itself: dir/... lands
//     under the destination directory as dir/....
//   - "@src/dir/**" copies dir's contents recursively, without the dir prefix.
//   - "@src/dir/*.yaml" copies the matching files of dir, not recursively; "*"
//     never crosses a "/", "**" matches any number of directories.
type CopyOperation struct {
	// from is "@alias/pattern": a file, a directory or a glob pattern inside
	// the source's artifact. It must match at least one file.
	// +kubebuilder:validation:Pattern="^@([a-z0-9]([a-z0-9_-]*[a-z0-9])?)/(.*)$"
	// +kubebuilder:validation:MaxLength=1024
	// +required
	From string `json:"from"`

	// to is "@artifact/path": a directory when it ends in "/" (or is the
	// root), else the file name a single file from "from" is copied to. What
	// a glob or a directory selects always goes under it as a directory.
	// +kubebuilder:validation:Pattern="^@(artifact)/(.*)$"
	// +kubebuilder:validation:MaxLength=1024
	// +required
	To string `json:"to"`

	// exclude lists glob patterns of files to leave out of what from
	// selected: a pattern without "/" matches the file name at any depth
	// ("*.md"), one with "/" the path from the source's root
	// ("**/testdata/**").
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Exclude []string `json:"exclude,omitempty"`
}

// ExternalArtifactReference names one generated ExternalArtifact and the
// digest of the artifact it serves.
type ExternalArtifactReference struct {
	// apiVersion of the ExternalArtifact.
	// +required
	APIVersion string `json:"apiVersion"`

	// kind is ExternalArtifact.
	// +required
	Kind string `json:"kind"`

	// name of the ExternalArtifact.
	// +required
	Name string `json:"name"`

	// namespace of the ExternalArtifact.
	// +required
	Namespace string `json:"namespace"`

	// digest of the artifact it serves.
	// +required
	Digest string `json:"digest"`
}

// ArtifactGeneratorStatus is what the controller last generated.
type ArtifactGeneratorStatus struct {
	// observedGeneration is the generation whose reconcile last finished.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions holds Ready, Reconciling and Stalled.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// inventory lists the ExternalArtifacts the generator owns, so one that
	// leaves the spec is deleted with its stored files.
	// +optional
	Inventory []ExternalArtifactReference `json:"inventory,omitempty"`

	// observedSourcesDigest is a digest of the revisions and digests of all
	// sources the current artifacts were built from.
	// +optional
	ObservedSourcesDigest string `json:"observedSourcesDigest,omitempty"`

	fluxmeta.ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=ag,categories=all;fluxcd;fluxcd-sources
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:metadata:annotations="kustomize.toolkit.fluxcd.io/substitute=disabled"

// ArtifactGenerator builds ExternalArtifacts from the artifacts of other
// sources: it splits a monorepo into one artifact per app, so a commit that
// touches one app gives only that app a new revision, or composes one
// artifact from several sources.
type ArtifactGenerator struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ArtifactGeneratorSpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	Status ArtifactGeneratorStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions.
func (in *ArtifactGenerator) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *ArtifactGenerator) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns DefaultInterval: source changes are watched, the
// periodic reconcile only repairs what a missed event left behind.
func (in *ArtifactGenerator) GetRequeueAfter() time.Duration {
	return DefaultInterval
}

// GetReconcileRequestStatus returns the status part that records the last
// handled reconcile.fluxcd.io/requestedAt value.
func (in *ArtifactGenerator) GetReconcileRequestStatus() *fluxmeta.ReconcileRequestStatus {
	return &in.Status.ReconcileRequestStatus
}

// IsDisabled reports whether the reconcile annotation suspends the generator.
func (in *ArtifactGenerator) IsDisabled() bool {
	v, ok := in.GetAnnotations()[ReconcileAnnotation]
	return ok && strings.EqualFold(v, DisabledValue)
}

// +kubebuilder:object:root=true

// ArtifactGeneratorList is a list of ArtifactGenerator objects.
type ArtifactGeneratorList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ArtifactGenerator `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ArtifactGenerator{}, &ArtifactGeneratorList{})
}
