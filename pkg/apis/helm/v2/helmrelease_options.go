package v2

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferrycd/ferry/pkg/apis/meta"
)

// DriftDetectionMode says what the controller does when the cluster differs
// from the release manifest in Helm storage.
type DriftDetectionMode string

const (
	// DriftDetectionEnabled detects drift and corrects it by re-applying the
	// release.
	DriftDetectionEnabled DriftDetectionMode = "enabled"

	// DriftDetectionWarn detects drift and reports it without correcting it.
	DriftDetectionWarn DriftDetectionMode = "warn"

	// DriftDetectionDisabled skips drift detection. It is the default.
	DriftDetectionDisabled DriftDetectionMode = "disabled"
)

// DriftDetection configures drift detection for the objects of a release.
type DriftDetection struct {
	// mode is enabled, warn or disabled (the default).
	// +kubebuilder:validation:Enum=enabled;warn;disabled
	// +optional
	Mode DriftDetectionMode `json:"mode,omitempty"`

	// ignore lists parts of objects whose differences do not count as
	// drift.
	// +optional
	Ignore []IgnoreRule `json:"ignore,omitempty"`
}

// GetMode returns the mode, or disabled when it is unset.
func (in DriftDetection) GetMode() DriftDetectionMode {
	if in.Mode == "" {
		return DriftDetectionDisabled
	}
	return in.Mode
}

// MustDetectChanges reports whether the mode asks for drift to be detected.
func (in DriftDetection) MustDetectChanges() bool {
	mode := in.GetMode()
	return mode == DriftDetectionEnabled || mode == DriftDetectionWarn
}

// IgnoreRule leaves the given JSON pointers out of drift detection.
type IgnoreRule struct {
	// paths are JSON pointers (RFC 6901) into the objects, e.g.
	// /spec/replicas.
	// +required
	Paths []string `json:"paths"`

	// target selects the objects the rule applies to; without it the rule
	// applies to every object of the release.
	// +optional
	Target *meta.Selector `json:"target,omitempty"`
}

// CRDsPolicy says what happens to the CustomResourceDefinitions in a chart's
// crds/ directory, which Helm itself only ever creates.
type CRDsPolicy string

const (
	// CRDsPolicySkip neither creates nor updates CRDs.
	CRDsPolicySkip CRDsPolicy = "Skip"

	// CRDsPolicyCreate creates missing CRDs and leaves existing ones alone.
	// It is the default on install.
	CRDsPolicyCreate CRDsPolicy = "Create"

	// CRDsPolicyCreateReplace creates missing CRDs and replaces existing
	// ones. CRDs are never deleted.
	CRDsPolicyCreateReplace CRDsPolicy = "CreateReplace"
)

// Install configures Helm install actions.
type Install struct {
	// timeout for each Kubernetes operation of the install, such as a hook
	// Job; defaults to spec.timeout.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// remediation says what to do when the install fails. By default the
	// install is not retried.
	// +optional
	Remediation *InstallRemediation `json:"remediation,omitempty"`

	// strategy says how a failed install is handled: RemediateOnFailure
	// (the default) applies remediation; RetryOnFailure leaves the failed
	// release and retries it with an upgrade every retryInterval.
	// +optional
	Strategy *ActionStrategy `json:"strategy,omitempty"`

	// crds is the policy for the chart's CRDs: Skip, Create (the default)
	// or CreateReplace.
	// +kubebuilder:validation:Enum=Skip;Create;CreateReplace
	// +optional
	CRDs CRDsPolicy `json:"crds,omitempty"`

	// createNamespace creates the target namespace if it is missing. It is
	// not deleted on uninstall.
	// +optional
	CreateNamespace bool `json:"createNamespace,omitempty"`

	// disableWait skips waiting for the released objects to become ready.
	// +optional
	DisableWait bool `json:"disableWait,omitempty"`

	// disableHooks skips the chart's hooks.
	// +optional
	DisableHooks bool `json:"disableHooks,omitempty"`

	// replace reuses the release name if a deleted release of that name is
	// still in the history.
	// +optional
	Replace bool `json:"replace,omitempty"`
}

// GetTimeout returns the install timeout, or def when it is unset.
func (in Install) GetTimeout(def metav1.Duration) metav1.Duration {
	if in.Timeout == nil {
		return def
	}
	return *in.Timeout
}

// GetRemediation returns the install remediation, empty when unset.
func (in Install) GetRemediation() Remediation {
	if in.Remediation == nil {
		return InstallRemediation{}
	}
	return *in.Remediation
}

// Upgrade configures Helm upgrade actions.
type Upgrade struct {
	// timeout for each Kubernetes operation of the upgrade, such as a hook
	// Job; defaults to spec.timeout.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// remediation says what to do when the upgrade fails. By default the
	// upgrade is not retried.
	// +optional
	Remediation *UpgradeRemediation `json:"remediation,omitempty"`

	// strategy says how a failed upgrade is handled: RemediateOnFailure
	// (the default) applies remediation; RetryOnFailure retries the upgrade
	// every retryInterval without rolling back or uninstalling.
	// +optional
	Strategy *ActionStrategy `json:"strategy,omitempty"`

	// crds is the policy for the chart's CRDs: Skip (the default), Create
	// or CreateReplace.
	// +kubebuilder:validation:Enum=Skip;Create;CreateReplace
	// +optional
	CRDs CRDsPolicy `json:"crds,omitempty"`

	// force replaces objects whose update fails instead of patching them.
	// +optional
	Force bool `json:"force,omitempty"`

	// cleanupOnFail deletes the objects the failed upgrade created.
	// +optional
	CleanupOnFail bool `json:"cleanupOnFail,omitempty"`

	// preserveValues reuses the values of the last release and merges the
	// new values over them. The HelmRelease is then no longer declarative.
	// +optional
	PreserveValues bool `json:"preserveValues,omitempty"`

	// disableWait skips waiting for the released objects to become ready.
	// +optional
	DisableWait bool `json:"disableWait,omitempty"`

	// disableHooks skips the chart's hooks.
	// +optional
	DisableHooks bool `json:"disableHooks,omitempty"`
}

// GetTimeout returns the upgrade timeout, or def when it is unset.
func (in Upgrade) GetTimeout(def metav1.Duration) metav1.Duration {
	if in.Timeout == nil {
		return def
	}
	return *in.Timeout
}

// GetRemediation returns the upgrade remediation, empty when unset.
func (in Upgrade) GetRemediation() Remediation {
	if in.Remediation == nil {
		return UpgradeRemediation{}
	}
	return *in.Remediation
}

// RemediationStrategy is how a failed upgrade is undone.
type RemediationStrategy string

const (
	// RollbackRemediationStrategy rolls back to the previous release. It is
	// the default for upgrades.
	RollbackRemediationStrategy RemediationStrategy = "rollback"

	// UninstallRemediationStrategy uninstalls the release. It is what a
	// failed install always gets.
	UninstallRemediationStrategy RemediationStrategy = "uninstall"
)

// Remediation is what install and upgrade remediation have in common, so
// that the controller can handle the last attempted action either way.
// +kubebuilder:object:generate=false
type Remediation interface {
	// GetRetries returns the retries allowed; a negative number means no
	// limit.
	GetRetries() int
	// MustIgnoreTestFailures reports whether failed tests skip remediation,
	// given spec.test.ignoreFailures as the default.
	MustIgnoreTestFailures(def bool) bool
	// MustRemediateLastFailure reports whether the last failure is
	// remediated once no retries remain.
	MustRemediateLastFailure() bool
	// GetStrategy returns how the failed action is undone.
	GetStrategy() RemediationStrategy
	// GetFailureCount returns the failures counted against the action.
	GetFailureCount(hr *HelmRelease) int64
	// IncrementFailureCount counts one more failure of the action.
	IncrementFailureCount(hr *HelmRelease)
	// RetriesExhausted reports whether no retries remain.
	RetriesExhausted(hr *HelmRelease) bool
}

// InstallRemediation configures what happens when an install fails; between
// attempts the failed release is uninstalled.
type InstallRemediation struct {
	// retries is the number of times a failed install is retried; a
	// negative number means no limit. Defaults to 0.
	// +optional
	Retries int `json:"retries,omitempty"`

	// ignoreTestFailures skips remediation when tests fail after an
	// install. Defaults to spec.test.ignoreFailures.
	// +optional
	IgnoreTestFailures *bool `json:"ignoreTestFailures,omitempty"`

	// remediateLastFailure uninstalls the release after the last failed
	// attempt too. Defaults to false.
	// +optional
	RemediateLastFailure *bool `json:"remediateLastFailure,omitempty"`
}

// GetRetries implements Remediation.
func (in InstallRemediation) GetRetries() int { return in.Retries }

// MustIgnoreTestFailures implements Remediation.
func (in InstallRemediation) MustIgnoreTestFailures(def bool) bool {
	if in.IgnoreTestFailures == nil {
		return def
	}
	return *in.IgnoreTestFailures
}

// MustRemediateLastFailure implements Remediation; it defaults to false.
func (in InstallRemediation) MustRemediateLastFailure() bool {
	return in.RemediateLastFailure != nil && *in.RemediateLastFailure
}

// GetStrategy implements Remediation: a failed install is uninstalled.
func (in InstallRemediation) GetStrategy() RemediationStrategy {
	return UninstallRemediationStrategy
}

// GetFailureCount implements Remediation.
func (in InstallRemediation) GetFailureCount(hr *HelmRelease) int64 {
	return hr.Status.InstallFailures
}

// IncrementFailureCount implements Remediation.
func (in InstallRemediation) IncrementFailureCount(hr *HelmRelease) {
	hr.Status.InstallFailures++
}

// RetriesExhausted implements Remediation.
func (in InstallRemediation) RetriesExhausted(hr *HelmRelease) bool {
	return in.Retries >= 0 && in.GetFailureCount(hr) > int64(in.Retries)
}

// UpgradeRemediation configures what happens when an upgrade fails; between
// attempts the strategy undoes the failed release.
type UpgradeRemediation struct {
	// retries is the number of times a failed upgrade is retried; a
	// negative number means no limit. Defaults to 0.
	// +optional
	Retries int `json:"retries,omitempty"`

	// ignoreTestFailures skips remediation when tests fail after an
	// upgrade. Defaults to spec.test.ignoreFailures.
	// +optional
	IgnoreTestFailures *bool `json:"ignoreTestFailures,omitempty"`

	// remediateLastFailure remediates the last failed attempt too. Defaults
	// to true when retries is above 0, false otherwise.
	// +optional
	RemediateLastFailure *bool `json:"remediateLastFailure,omitempty"`

	// strategy is how a failed upgrade is undone: rollback (the default) or
	// uninstall.
	// +kubebuilder:validation:Enum=rollback;uninstall
	// +optional
	Strategy *RemediationStrategy `json:"strategy,omitempty"`
}

// GetRetries implements Remediation.
func (in UpgradeRemediation) GetRetries() int { return in.Retries }

// MustIgnoreTestFailures implements Remediation.
func (in UpgradeRemediation) MustIgnoreTestFailures(def bool) bool {
	if in.IgnoreTestFailures == nil {
		return def
	}
	return *in.IgnoreTestFailures
}

// MustRemediateLastFailure implements Remediation; unset, it is true when
// retries is above 0.
func (in UpgradeRemediation) MustRemediateLastFailure() bool {
	if in.RemediateLastFailure == nil {
		return in.Retries > 0
	}
	return *in.RemediateLastFailure
}

// GetStrategy implements Remediation; it defaults to rollback.
func (in UpgradeRemediation) GetStrategy() RemediationStrategy {
	if in.Strategy == nil {
		return RollbackRemediationStrategy
	}
	return *in.Strategy
}

// GetFailureCount implements Remediation.
func (in UpgradeRemediation) GetFailureCount(hr *HelmRelease) int64 {
	return hr.Status.UpgradeFailures
}

// IncrementFailureCount implements Remediation.
func (in UpgradeRemediation) IncrementFailureCount(hr *HelmRelease) {
	hr.Status.UpgradeFailures++
}

// RetriesExhausted implements Remediation.
func (in UpgradeRemediation) RetriesExhausted(hr *HelmRelease) bool {
	return in.Retries >= 0 && in.GetFailureCount(hr) > int64(in.Retries)
}

// Test configures Helm test actions.
type Test struct {
	// enable runs the chart's tests after each install or upgrade.
	// +optional
	Enable bool `json:"enable,omitempty"`

	// timeout for each Kubernetes operation of the tests; defaults to
	// spec.timeout.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// ignoreFailures keeps failed tests from triggering remediation; the
	// install and upgrade remediation can override it.
	// +optional
	IgnoreFailures bool `json:"ignoreFailures,omitempty"`
}

// GetTimeout returns the test timeout, or def when it is unset.
func (in Test) GetTimeout(def metav1.Duration) metav1.Duration {
	if in.Timeout == nil {
		return def
	}
	return *in.Timeout
}

// Rollback configures Helm rollback actions, run to remediate a failed
// upgrade.
type Rollback struct {
	// timeout for each Kubernetes operation of the rollback, such as a hook
	// Job; defaults to spec.timeout.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// disableWait skips waiting for the objects to become ready.
	// +optional
	DisableWait bool `json:"disableWait,omitempty"`

	// disableHooks skips the chart's hooks.
	// +optional
	DisableHooks bool `json:"disableHooks,omitempty"`

	// recreate restarts the pods of the rolled back objects where that
	// applies.
	// +optional
	Recreate bool `json:"recreate,omitempty"`

	// force replaces objects whose update fails instead of patching them.
	// +optional
	Force bool `json:"force,omitempty"`

	// cleanupOnFail deletes the objects a failed rollback created.
	// +optional
	CleanupOnFail bool `json:"cleanupOnFail,omitempty"`
}

// GetTimeout returns the rollback timeout, or def when it is unset.
func (in Rollback) GetTimeout(def metav1.Duration) metav1.Duration {
	if in.Timeout == nil {
		return def
	}
	return *in.Timeout
}

// Uninstall configures Helm uninstall actions, run on deletion of the
// HelmRelease or to remediate a failure.
type Uninstall struct {
	// timeout for each Kubernetes operation of the uninstall, such as a hook
	// Job; defaults to spec.timeout.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// disableHooks skips the chart's hooks.
	// +optional
	DisableHooks bool `json:"disableHooks,omitempty"`

	// keepHistory deletes the objects but keeps the release history,
	// marking the release uninstalled.
	// +optional
	KeepHistory bool `json:"keepHistory,omitempty"`

	// disableWait skips waiting for the objects to be gone.
	// +optional
	DisableWait bool `json:"disableWait,omitempty"`

	// deletionPropagation is the propagation policy of the deletes:
	// background (the default), foreground or orphan.
	// +kubebuilder:default=background
	// +kubebuilder:validation:Enum=background;foreground;orphan
	// +optional
	DeletionPropagation *string `json:"deletionPropagation,omitempty"`
}

// GetTimeout returns the uninstall timeout, or def when it is unset.
func (in Uninstall) GetTimeout(def metav1.Duration) metav1.Duration {
	if in.Timeout == nil {
		return def
	}
	return *in.Timeout
}

// GetDeletionPropagation returns the propagation policy, or background when
// it is unset.
func (in Uninstall) GetDeletionPropagation() string {
	if in.DeletionPropagation == nil {
		return "background"
	}
	return *in.DeletionPropagation
}
