package v2

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferrycd/ferry/pkg/apis/meta"
)

const (
	// defaultMaxHistory is the number of release versions Helm keeps when
	// spec.maxHistory is unset.
	defaultMaxHistory = 5

	// defaultTimeout is the timeout of Helm actions when spec.timeout is
	// unset.
	defaultTimeout = 5 * time.Minute

	// maxReleaseNameLength is the longest release name Helm accepts.
	maxReleaseNameLength = 53

	// releaseNameHashLength is the number of hex digits of the hash that
	// ends a shortened release name.
	releaseNameHashLength = 12
)

// HelmReleaseSpec says which chart to release, with which values, and how.
// +kubebuilder:validation:XValidation:rule="(has(self.chart) && !has(self.chartRef)) || (!has(self.chart) && has(self.chartRef))",message="either chart or chartRef must be set"
type HelmReleaseSpec struct {
	// chart is a template of the HelmChart the controller creates to fetch
	// the chart. Exactly one of chart and chartRef must be set.
	// +optional
	Chart *HelmChartTemplate `json:"chart,omitempty"`

	// chartRef names an existing OCIRepository, HelmChart or
	// ExternalArtifact whose artifact is the chart (for an ExternalArtifact,
	// a packaged chart or a tarball of a chart directory). Exactly one of
	// chart and chartRef must be set.
	// +optional
	ChartRef *CrossNamespaceSourceReference `json:"chartRef,omitempty"`

	// interval between reconciles, which also detect drift when asked to.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +required
	Interval metav1.Duration `json:"interval"`

	// retry retries a failed reconcile with exponential backoff, as Argo
	// CD's retry policy does: retry n waits min(maxDuration, duration ×
	// factor^n), up to limit retries (a negative limit retries without
	// end). The count, in status.retries with the next attempt in
	// status.nextRetryAt, starts again after a success, a new chart version
	// or values digest, or a spec change. Once the limit is used up the
	// release waits for its interval. Without it a failed reconcile is
	// retried with the controller's backoff, as in Flux.
	//
	// retry says when a failed reconcile runs again; the install and
	// upgrade remediation says what that reconcile does: remediate
	// (uninstall or roll back) and try the action again while
	// remediation.retries allow, or stall once they are used up, which no
	// retry undoes. With the RetryOnFailure strategy a failed action is
	// still not remediated, but it is tried again on this backoff instead of
	// every strategy.retryInterval.
	// +optional
	Retry *meta.RetryPolicy `json:"retry,omitempty"`

	// timeout for each Kubernetes operation of a Helm action, such as a
	// hook Job. Defaults to 5m.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// releaseName is the name of the Helm release. Defaults to
	// "<targetNamespace>-<name>" when targetNamespace is set, else to the
	// HelmRelease's name, shortened when longer than 53 characters.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=53
	// +optional
	ReleaseName string `json:"releaseName,omitempty"`

	// targetNamespace is the namespace the release is made in. Defaults to
	// the HelmRelease's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +optional
	TargetNamespace string `json:"targetNamespace,omitempty"`

	// storageNamespace is the namespace Helm keeps the release records in.
	// Defaults to the HelmRelease's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +optional
	StorageNamespace string `json:"storageNamespace,omitempty"`

	// dependsOn lists HelmReleases that must be ready before this one is
	// reconciled.
	// +optional
	DependsOn []meta.DependencyReference `json:"dependsOn,omitempty"`

	// maxHistory is the number of release versions Helm keeps; 0 keeps
	// all. Defaults to 5.
	// +optional
	MaxHistory *int `json:"maxHistory,omitempty"`

	// serviceAccountName is the ServiceAccount, in the HelmRelease's
	// namespace, that the controller impersonates for Helm actions.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// kubeConfig points at a kubeconfig for releasing to a remote cluster;
	// serviceAccountName is then impersonated in that cluster.
	// +optional
	KubeConfig *meta.KubeConfigReference `json:"kubeConfig,omitempty"`

	// suspend stops further reconciles; one already running finishes.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// driftDetection configures how differences between the release
	// manifest and the cluster are detected and handled.
	// +optional
	DriftDetection *DriftDetection `json:"driftDetection,omitempty"`

	// install configures Helm install actions.
	// +optional
	Install *Install `json:"install,omitempty"`

	// upgrade configures Helm upgrade actions.
	// +optional
	Upgrade *Upgrade `json:"upgrade,omitempty"`

	// test configures Helm test actions.
	// +optional
	Test *Test `json:"test,omitempty"`

	// rollback configures Helm rollback actions.
	// +optional
	Rollback *Rollback `json:"rollback,omitempty"`

	// uninstall configures Helm uninstall actions.
	// +optional
	Uninstall *Uninstall `json:"uninstall,omitempty"`

	// valuesFrom lists ConfigMaps and Secrets holding values, merged in
	// order; values is merged over them, and an entry with targetPath wins
	// over both.
	// +optional
	ValuesFrom []ValuesReference `json:"valuesFrom,omitempty"`

	// values are inline values for the release.
	// +optional
	Values *apiextensionsv1.JSON `json:"values,omitempty"`

	// postRenderers change the rendered manifests, in order, before they
	// are applied.
	// +optional
	PostRenderers []PostRenderer `json:"postRenderers,omitempty"`
}

// ReleaseAction is a Helm action that makes a new release version.
type ReleaseAction string

const (
	// ReleaseActionInstall is a Helm install.
	ReleaseActionInstall ReleaseAction = "install"
	// ReleaseActionUpgrade is a Helm upgrade.
	ReleaseActionUpgrade ReleaseAction = "upgrade"
)

// HelmReleaseStatus is the state the controller last observed.
type HelmReleaseStatus struct {
	fluxmeta.ReconcileRequestStatus `json:",inline"`

	// observedGeneration is the generation whose reconcile finished last,
	// ready or stalled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// observedPostRenderersDigest is the digest of the post-renderers of
	// the last successful release.
	// +optional
	ObservedPostRenderersDigest string `json:"observedPostRenderersDigest,omitempty"`

	// lastAttemptedGeneration is the generation the controller last tried
	// to reconcile.
	// +optional
	LastAttemptedGeneration int64 `json:"lastAttemptedGeneration,omitempty"`

	// conditions hold Ready, Reconciling, Stalled, Released, TestSuccess,
	// Remediated and Drifted.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// helmChart is "<namespace>/<name>" of the HelmChart created from
	// spec.chart.
	// +optional
	HelmChart string `json:"helmChart,omitempty"`

	// storageNamespace is the namespace of the Helm storage of the current
	// release, so that a change of spec.storageNamespace can uninstall it.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +optional
	StorageNamespace string `json:"storageNamespace,omitempty"`

	// history lists the release versions made for this HelmRelease, newest
	// first, back to the last successful one.
	// +optional
	History Snapshots `json:"history,omitempty"`

	// lastAttemptedReleaseAction is the last install or upgrade tried; it
	// picks the remediation settings that apply.
	// +kubebuilder:validation:Enum=install;upgrade
	// +optional
	LastAttemptedReleaseAction ReleaseAction `json:"lastAttemptedReleaseAction,omitempty"`

	// failures counts failed reconciles of the current desired state.
	// +optional
	Failures int64 `json:"failures,omitempty"`

	// installFailures counts failed installs of the current desired state.
	// +optional
	InstallFailures int64 `json:"installFailures,omitempty"`

	// upgradeFailures counts failed upgrades of the current desired state.
	// +optional
	UpgradeFailures int64 `json:"upgradeFailures,omitempty"`

	// lastAttemptedRevision is the chart version last tried; for an
	// OCIRepository it carries the first 12 hex digits of the artifact
	// digest, as in "1.2.3+1234567890ab".
	// +optional
	LastAttemptedRevision string `json:"lastAttemptedRevision,omitempty"`

	// lastAttemptedRevisionDigest is the artifact digest of the chart last
	// tried; only set for OCIRepository charts.
	// +optional
	LastAttemptedRevisionDigest string `json:"lastAttemptedRevisionDigest,omitempty"`

	// lastAttemptedConfigDigest is the digest of the values last tried.
	// +optional
	LastAttemptedConfigDigest string `json:"lastAttemptedConfigDigest,omitempty"`

	// lastHandledForceAt echoes the last reconcile.fluxcd.io/forceAt value
	// acted on.
	// +optional
	LastHandledForceAt string `json:"lastHandledForceAt,omitempty"`

	// lastHandledResetAt echoes the last reconcile.fluxcd.io/resetAt value
	// acted on.
	// +optional
	LastHandledResetAt string `json:"lastHandledResetAt,omitempty"`

	meta.RetryStatus `json:",inline"`
}

// ClearHistory forgets the release history.
func (in *HelmReleaseStatus) ClearHistory() {
	in.History = nil
}

// ClearFailures resets the failure counters.
func (in *HelmReleaseStatus) ClearFailures() {
	in.Failures = 0
	in.InstallFailures = 0
	in.UpgradeFailures = 0
}

// GetHelmChart returns the namespace and name of the HelmChart in
// status.helmChart, or two empty strings.
func (in HelmReleaseStatus) GetHelmChart() (namespace, name string) {
	namespace, name, ok := strings.Cut(in.HelmChart, "/")
	if !ok {
		return "", ""
	}
	return namespace, name
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:shortName=hr,categories=all;fluxcd;fluxcd-appliers
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description=""
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status",description=""
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message",description=""
// +kubebuilder:printcolumn:name="Retries",type="integer",JSONPath=".status.retries",priority=1,description="Retries since the last success"
// +kubebuilder:printcolumn:name="Next Retry",type="date",JSONPath=".status.nextRetryAt",priority=1,description="When the next retry is due"

// HelmRelease keeps a Helm release of a chart installed, upgraded, tested
// and, on failure, remediated.
type HelmRelease struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state.
	// +required
	Spec HelmReleaseSpec `json:"spec,omitempty"`

	// status is the observed state.
	// +kubebuilder:default:={"observedGeneration":-1}
	// +optional
	Status HelmReleaseStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions.
func (in *HelmRelease) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *HelmRelease) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns how long to wait between reconciles:
// spec.interval.
func (in *HelmRelease) GetRequeueAfter() time.Duration {
	return in.Spec.Interval.Duration
}

// GetRetry returns spec.retry; nil leaves retries to the controller's
// backoff.
func (in *HelmRelease) GetRetry() *meta.RetryPolicy {
	return in.Spec.Retry
}

// GetRetryInterval is zero: without spec.retry a failed reconcile is
// retried with the controller's backoff, as Flux's helm-controller does
// (the RetryOnFailure strategy waits its own retryInterval).
func (in *HelmRelease) GetRetryInterval() time.Duration {
	return 0
}

// GetRetryStatus returns the status part that counts retries.
func (in *HelmRelease) GetRetryStatus() *meta.RetryStatus {
	return &in.Status.RetryStatus
}

// GetRetryRevision returns the chart version and values digest the last
// reconcile attempted; a new one starts the retry count again.
func (in *HelmRelease) GetRetryRevision() string {
	if in.Status.LastAttemptedConfigDigest == "" {
		return in.Status.LastAttemptedRevision
	}
	return in.Status.LastAttemptedRevision + "/" + in.Status.LastAttemptedConfigDigest
}

// GetTimeout returns spec.timeout, or 5m when it is unset.
func (in *HelmRelease) GetTimeout() time.Duration {
	if in.Spec.Timeout == nil {
		return defaultTimeout
	}
	return in.Spec.Timeout.Duration
}

// GetDependsOn returns the HelmReleases this one waits for.
func (in *HelmRelease) GetDependsOn() []meta.DependencyReference {
	return in.Spec.DependsOn
}

// GetReleaseName returns the name of the Helm release. It is
// spec.releaseName when set. Otherwise it is "<targetNamespace>-<name>" when
// spec.targetNamespace is set, else the HelmRelease's name; and when that is
// longer than Helm's limit of 53 characters it is shortened as Flux does: the
// first 40 characters, a dash, and the first 12 hex digits of the SHA-256 of
// the full name. So "a-very-lengthy-target-namespace-with-a-nice-object-name"
// becomes "a-very-lengthy-target-namespace-with-a-n-97af5d7f41f3": the name
// Flux's code gives it, so a release made by Flux is found again. (Flux's
// spec page shows two more characters before the hash, which would exceed
// the limit; its code and tests keep 40.)
func (in *HelmRelease) GetReleaseName() string {
	if in.Spec.ReleaseName != "" {
		return in.Spec.ReleaseName
	}
	name := in.Name
	if in.Spec.TargetNamespace != "" {
		name = in.Spec.TargetNamespace + "-" + in.Name
	}
	return shortenReleaseName(name)
}

// shortenReleaseName fits name into Helm's release name limit, keeping
// distinct long names distinct through the hash.
func shortenReleaseName(name string) string {
	if len(name) <= maxReleaseNameLength {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	prefix := name[:maxReleaseNameLength-releaseNameHashLength-1]
	return prefix + "-" + hex.EncodeToString(sum[:])[:releaseNameHashLength]
}

// GetReleaseNamespace returns the namespace the release is made in:
// spec.targetNamespace, or the HelmRelease's namespace.
func (in *HelmRelease) GetReleaseNamespace() string {
	if in.Spec.TargetNamespace != "" {
		return in.Spec.TargetNamespace
	}
	return in.Namespace
}

// GetStorageNamespace returns the namespace of the Helm storage:
// spec.storageNamespace, or the HelmRelease's namespace.
func (in *HelmRelease) GetStorageNamespace() string {
	if in.Spec.StorageNamespace != "" {
		return in.Spec.StorageNamespace
	}
	return in.Namespace
}

// GetMaxHistory returns spec.maxHistory, or 5 when it is unset.
func (in *HelmRelease) GetMaxHistory() int {
	if in.Spec.MaxHistory == nil {
		return defaultMaxHistory
	}
	return *in.Spec.MaxHistory
}

// GetValues returns the inline values as a map, or nil when there are none
// or they are not a JSON object; the API server only stores valid JSON.
func (in *HelmRelease) GetValues() map[string]any {
	if in.Spec.Values == nil || len(in.Spec.Values.Raw) == 0 {
		return nil
	}
	var values map[string]any
	if err := json.Unmarshal(in.Spec.Values.Raw, &values); err != nil {
		return nil
	}
	return values
}

// GetHelmChartName returns the name of the HelmChart created from
// spec.chart: "<namespace>-<name>" of the HelmRelease.
func (in *HelmRelease) GetHelmChartName() string {
	return in.Namespace + "-" + in.Name
}

// HasChartRef reports whether the chart comes from spec.chartRef.
func (in *HelmRelease) HasChartRef() bool {
	return in.Spec.ChartRef != nil
}

// HasChartTemplate reports whether the chart comes from spec.chart.
func (in *HelmRelease) HasChartTemplate() bool {
	return in.Spec.Chart != nil
}

// GetDriftDetection returns spec.driftDetection, empty when unset.
func (in *HelmRelease) GetDriftDetection() DriftDetection {
	if in.Spec.DriftDetection == nil {
		return DriftDetection{}
	}
	return *in.Spec.DriftDetection
}

// GetInstall returns spec.install, empty when unset.
func (in *HelmRelease) GetInstall() Install {
	if in.Spec.Install == nil {
		return Install{}
	}
	return *in.Spec.Install
}

// GetUpgrade returns spec.upgrade, empty when unset.
func (in *HelmRelease) GetUpgrade() Upgrade {
	if in.Spec.Upgrade == nil {
		return Upgrade{}
	}
	return *in.Spec.Upgrade
}

// GetTest returns spec.test, empty when unset.
func (in *HelmRelease) GetTest() Test {
	if in.Spec.Test == nil {
		return Test{}
	}
	return *in.Spec.Test
}

// GetRollback returns spec.rollback, empty when unset.
func (in *HelmRelease) GetRollback() Rollback {
	if in.Spec.Rollback == nil {
		return Rollback{}
	}
	return *in.Spec.Rollback
}

// GetUninstall returns spec.uninstall, empty when unset.
func (in *HelmRelease) GetUninstall() Uninstall {
	if in.Spec.Uninstall == nil {
		return Uninstall{}
	}
	return *in.Spec.Uninstall
}

// GetActiveRemediation returns the remediation settings of the last
// attempted release action, or nil before any install or upgrade.
func (in *HelmRelease) GetActiveRemediation() Remediation {
	switch in.Status.LastAttemptedReleaseAction {
	case ReleaseActionInstall:
		return in.GetInstall().GetRemediation()
	case ReleaseActionUpgrade:
		return in.GetUpgrade().GetRemediation()
	default:
		return nil
	}
}

// +kubebuilder:object:root=true

// HelmReleaseList is a list of HelmReleases.
type HelmReleaseList struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the HelmReleases.
	Items []HelmRelease `json:"items"`
}

func init() {
	SchemeBuilder.Register(&HelmRelease{}, &HelmReleaseList{})
}

// GetReconcileRequestStatus returns the status part that records the last
// handled reconcile.fluxcd.io/requestedAt value.
func (in *HelmRelease) GetReconcileRequestStatus() *fluxmeta.ReconcileRequestStatus {
	return &in.Status.ReconcileRequestStatus
}
