package v1

import (
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// GitRepositoryKind is the kind name, as used in source references.
const GitRepositoryKind = "GitRepository"

// GitVerificationMode says which Git objects must carry a trusted signature.
type GitVerificationMode string

const (
	// ModeGitHEAD verifies the commit that is checked out.
	ModeGitHEAD GitVerificationMode = "HEAD"

	// ModeGitHEADLegacy is the lower-case spelling older Flux manifests use;
	// it means the same as ModeGitHEAD.
	ModeGitHEADLegacy GitVerificationMode = "head"

	// ModeGitTag verifies the annotated tag that spec.ref resolved to.
	ModeGitTag GitVerificationMode = "Tag"

	// ModeGitTagAndHEAD verifies both the tag and the commit it points to.
	ModeGitTagAndHEAD GitVerificationMode = "TagAndHEAD"
)

// GitRepositorySpec is what to fetch from a Git repository and how often.
type GitRepositorySpec struct {
	// url is the HTTP/S or SSH address of the repository. The scp-like form
	// (user@host:path) is refused so that credentials and known_hosts are
	// always matched against a well-formed host.
	// +kubebuilder:validation:Pattern="^(http|https|ssh)://.*$"
	// +required
	URL string `json:"url"`

	// secretRef names a Secret in the same namespace holding the credentials:
	// username/password or bearerToken (plus ca.crt, tls.crt/tls.key) for
	// HTTPS, identity and known_hosts (plus password) for SSH.
	// +optional
	SecretRef *fluxmeta.LocalObjectReference `json:"secretRef,omitempty"`

	// interval is how often the repository is checked for a new revision. A
	// change to the spec is acted on at once, whatever the interval.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +required
	Interval metav1.Duration `json:"interval"`

	// timeout bounds each remote Git operation, so a hanging server cannot
	// block the reconcile.
	// +kubebuilder:default="60s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// ref selects what to check out; without it the master branch is used.
	// +optional
	Reference *GitRepositoryRef `json:"ref,omitempty"`

	// verify asks for the checked-out commit and/or tag to be signed by a
	// trusted key before an artifact is produced.
	// +optional
	Verification *GitRepositoryVerification `json:"verify,omitempty"`

	// ignore replaces the default exclusion rules with rules in .gitignore
	// format; matching paths are left out of the artifact.
	// +optional
	Ignore *string `json:"ignore,omitempty"`

	// suspend stops reconciliation while true, leaving the last artifact in
	// place.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// recurseSubmodules also clones the repository's submodules, with the same
	// credentials.
	// +optional
	RecurseSubmodules bool `json:"recurseSubmodules,omitempty"`

	// include copies the artifacts of other GitRepositories in the same
	// namespace into this one, so a change in either produces a new artifact.
	// +optional
	Include []GitRepositoryInclude `json:"include,omitempty"`

	// sparseCheckout limits the checkout, and so the artifact, to these
	// directories, which keeps artifacts of large monorepos small.
	// +optional
	SparseCheckout []string `json:"sparseCheckout,omitempty"`
}

// GitRepositoryInclude places (part of) another GitRepository's artifact
// inside this one.
type GitRepositoryInclude struct {
	// repository names the GitRepository, in the same namespace, to include.
	// +required
	GitRepositoryRef fluxmeta.LocalObjectReference `json:"repository"`

	// fromPath is the directory of the included artifact to copy; the whole
	// artifact when empty.
	// +optional
	FromPath string `json:"fromPath,omitempty"`

	// toPath is where the copy lands in this artifact; the included
	// repository's name when empty.
	// +optional
	ToPath string `json:"toPath,omitempty"`
}

// GetToPath returns the destination directory, falling back to the included
// repository's name as Flux does.
func (in *GitRepositoryInclude) GetToPath() string {
	if in.ToPath == "" {
		return in.GitRepositoryRef.Name
	}
	return in.ToPath
}

// GitRepositoryRef selects the revision to check out. When several fields are
// set the most specific wins: commit, then name, then semver, then tag, then
// branch.
type GitRepositoryRef struct {
	// branch to follow; master when nothing else is set.
	// +optional
	Branch string `json:"branch,omitempty"`

	// tag to check out; wins over branch.
	// +optional
	Tag string `json:"tag,omitempty"`

	// semver is a version range; the highest matching tag is checked out.
	// Wins over tag.
	// +optional
	SemVer string `json:"semver,omitempty"`

	// name is a full Git reference such as refs/heads/main or
	// refs/pull/42/head, for refs that are neither plain branches nor tags.
	// Wins over branch, tag and semver.
	// +optional
	Name string `json:"name,omitempty"`

	// commit is the SHA to check out and wins over everything else; combined
	// with branch, only that branch is fetched and must contain the commit.
	// +optional
	Commit string `json:"commit,omitempty"`
}

// GitRepositoryVerification configures commit and tag signature checks.
type GitRepositoryVerification struct {
	// mode says what must be signed: HEAD (the checked-out commit; "head" is
	// accepted for older manifests), Tag, or TagAndHEAD.
	// +kubebuilder:validation:Enum=head;HEAD;Tag;TagAndHEAD
	// +kubebuilder:default:=HEAD
	// +optional
	Mode GitVerificationMode `json:"mode,omitempty"`

	// secretRef names a Secret in the same namespace with the trusted public
	// keys. Every data key whose name ends in .asc must hold an ASCII-armored
	// OpenPGP public key ring (one or more keys); a value that does not parse
	// fails verification rather than being skipped, and data keys with other
	// names are ignored. Only OpenPGP signatures are verified: a commit or
	// tag signed with an SSH or X.509 key fails verification. A change of the
	// keys, like a change of mode, is verified again at the next reconcile,
	// even when the remote revision is unchanged.
	// +required
	SecretRef fluxmeta.LocalObjectReference `json:"secretRef"`
}

// GetMode returns the mode with the legacy "head" folded into HEAD, and HEAD
// when the mode is unset or unknown.
func (in *GitRepositoryVerification) GetMode() GitVerificationMode {
	switch in.Mode {
	case ModeGitTag, ModeGitTagAndHEAD:
		return in.Mode
	default:
		return ModeGitHEAD
	}
}

// VerifyHEAD reports whether the checked-out commit must be verified.
func (in *GitRepositoryVerification) VerifyHEAD() bool {
	m := in.GetMode()
	return m == ModeGitHEAD || m == ModeGitTagAndHEAD
}

// VerifyTag reports whether the resolved tag must be verified.
func (in *GitRepositoryVerification) VerifyTag() bool {
	m := in.GetMode()
	return m == ModeGitTag || m == ModeGitTagAndHEAD
}

// GitRepositoryStatus is what the source-controller last observed and stored.
type GitRepositoryStatus struct {
	// observedGeneration is the generation whose reconcile last finished.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions holds Ready, Reconciling, Stalled and the source conditions.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// artifact is the last artifact stored, which consumers download.
	// +optional
	Artifact *fluxmeta.Artifact `json:"artifact,omitempty"`

	// includedArtifacts are the artifacts of spec.include that went into the
	// current artifact, so a change in any of them is noticed.
	// +optional
	IncludedArtifacts []*fluxmeta.Artifact `json:"includedArtifacts,omitempty"`

	// observedIgnore is the spec.ignore used for the current artifact; a
	// change forces a rebuild.
	// +optional
	ObservedIgnore *string `json:"observedIgnore,omitempty"`

	// observedRecurseSubmodules is the spec.recurseSubmodules used for the
	// current artifact; a change forces a rebuild.
	// +optional
	ObservedRecurseSubmodules bool `json:"observedRecurseSubmodules,omitempty"`

	// observedInclude is the spec.include used for the current artifact; a
	// change forces a rebuild.
	// +optional
	ObservedInclude []GitRepositoryInclude `json:"observedInclude,omitempty"`

	// observedSparseCheckout is the spec.sparseCheckout used for the current
	// artifact; a change forces a rebuild.
	// +optional
	ObservedSparseCheckout []string `json:"observedSparseCheckout,omitempty"`

	// sourceVerificationMode is the verification mode last applied, so a
	// change of mode triggers verification again.
	// +optional
	SourceVerificationMode *GitVerificationMode `json:"sourceVerificationMode,omitempty"`

	// observedVerificationKeysDigest is the sha256 digest of the trusted keys
	// (the .asc entries of spec.verify.secretRef) the current artifact was
	// verified with, so a change of keys triggers verification again.
	// +optional
	ObservedVerificationKeysDigest string `json:"observedVerificationKeysDigest,omitempty"`

	fluxmeta.ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:resource:shortName=gitrepo,categories=all;fluxcd;fluxcd-sources
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.spec.url`
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:metadata:annotations="kustomize.toolkit.fluxcd.io/substitute=disabled"

// GitRepository produces a tarball artifact of one revision of a Git
// repository.
type GitRepository struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec GitRepositorySpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	Status GitRepositoryStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions.
func (in *GitRepository) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *GitRepository) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns spec.interval, the wait before the next check.
func (in *GitRepository) GetRequeueAfter() time.Duration {
	return in.Spec.Interval.Duration
}

// GetTimeout returns spec.timeout, or DefaultTimeout when unset.
func (in *GitRepository) GetTimeout() time.Duration {
	return timeoutOrDefault(in.Spec.Timeout)
}

// GetArtifact returns the last stored artifact, or nil.
func (in *GitRepository) GetArtifact() *fluxmeta.Artifact {
	return in.Status.Artifact
}

// +kubebuilder:object:root=true

// GitRepositoryList is a list of GitRepository objects.
type GitRepositoryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GitRepository `json:"items"`
}

func init() {
	SchemeBuilder.Register(&GitRepository{}, &GitRepositoryList{})
}

// GetReconcileRequestStatus returns the status part that records the last
// handled reconcile.fluxcd.io/requestedAt value.
func (in *GitRepository) GetReconcileRequestStatus() *fluxmeta.ReconcileRequestStatus {
	return &in.Status.ReconcileRequestStatus
}
