package v2

// Condition types a HelmRelease reports besides Ready, Reconciling and
// Stalled.
const (
	// ReleasedCondition records the outcome of the last install or upgrade
	// of the desired state.
	ReleasedCondition string = "Released"

	// TestSuccessCondition records the outcome of the last Helm test run of
	// the desired state.
	TestSuccessCondition string = "TestSuccess"

	// RemediatedCondition is True after a failed release was rolled back or
	// uninstalled, until the next install or upgrade completes.
	RemediatedCondition string = "Remediated"

	// DriftedCondition records whether the cluster differs from the release
	// manifest. It is only set when drift detection is enabled or warns.
	DriftedCondition string = "Drifted"
)

// Reasons for the HelmRelease conditions. The strings are Flux's, so alerts
// and tooling that match on them keep working.
const (
	// InstallSucceededReason means the Helm install succeeded.
	InstallSucceededReason string = "InstallSucceeded"

	// InstallFailedReason means the Helm install failed.
	InstallFailedReason string = "InstallFailed"

	// UpgradeSucceededReason means the Helm upgrade succeeded.
	UpgradeSucceededReason string = "UpgradeSucceeded"

	// UpgradeFailedReason means the Helm upgrade failed.
	UpgradeFailedReason string = "UpgradeFailed"

	// TestSucceededReason means every Helm test hook passed.
	TestSucceededReason string = "TestSucceeded"

	// TestFailedReason means a Helm test hook failed.
	TestFailedReason string = "TestFailed"

	// RollbackSucceededReason means a failed upgrade was rolled back.
	RollbackSucceededReason string = "RollbackSucceeded"

	// RollbackFailedReason means rolling back a failed upgrade failed too.
	RollbackFailedReason string = "RollbackFailed"

	// UninstallSucceededReason means the release was uninstalled, after a
	// failure or because the HelmRelease was deleted.
	UninstallSucceededReason string = "UninstallSucceeded"

	// UninstallFailedReason means the Helm uninstall failed.
	UninstallFailedReason string = "UninstallFailed"

	// ArtifactFailedReason means the chart artifact could not be fetched,
	// verified or loaded.
	ArtifactFailedReason string = "ArtifactFailed"

	// InitFailedReason means the Helm configuration could not be set up,
	// for example because values could not be composed or the kubeconfig is
	// invalid.
	InitFailedReason string = "InitFailed"

	// GetLastReleaseFailedReason means the release in Helm storage could not
	// be read.
	GetLastReleaseFailedReason string = "GetLastReleaseFailed"

	// DependencyNotReadyReason means an entry of spec.dependsOn is missing or
	// not ready yet; the HelmRelease waits and checks again.
	DependencyNotReadyReason string = "DependencyNotReady"

	// RetriesExceededReason means the remediation retries are used up; the
	// HelmRelease is Stalled until its spec, chart or values change, or a
	// reset is requested.
	RetriesExceededReason string = "RetriesExceeded"

	// DriftDetectedReason means the cluster differs from the release
	// manifest.
	DriftDetectedReason string = "DriftDetected"

	// NoDriftDetectedReason means the cluster matches the release manifest.
	NoDriftDetectedReason string = "NoDriftDetected"

	// ReconciliationSucceededReason means the reconcile finished and the
	// release is up to date.
	ReconciliationSucceededReason string = "ReconciliationSucceeded"

	// ReconciliationFailedReason means the reconcile failed for a cause no
	// more specific reason describes.
	ReconciliationFailedReason string = "ReconciliationFailed"

	// ProgressingWithRetryReason means the reconcile hit an error and will be
	// tried again.
	ProgressingWithRetryReason string = "ProgressingWithRetry"
)

const (
	// HelmReleaseKind is the kind name of the HelmRelease API.
	HelmReleaseKind = "HelmRelease"

	// HelmReleaseFinalizer holds a HelmRelease back from deletion until the
	// controller has uninstalled the release.
	HelmReleaseFinalizer = "finalizers.fluxcd.io"
)

// Labels the controller puts on the objects of a release, so that they can be
// traced back to their HelmRelease.
const (
	// NameLabel holds the name of the HelmRelease that released the object.
	NameLabel = "helm.toolkit.fluxcd.io/name"

	// NamespaceLabel holds the namespace of the HelmRelease that released
	// the object.
	NamespaceLabel = "helm.toolkit.fluxcd.io/namespace"
)

const (
	// DriftDetectionMetadataKey, as a label or annotation on an object of
	// the release set to DriftDetectionDisabledValue, leaves the object out
	// of drift detection.
	DriftDetectionMetadataKey = "helm.toolkit.fluxcd.io/driftDetection"

	// DriftDetectionDisabledValue is the value of DriftDetectionMetadataKey
	// that opts an object out.
	DriftDetectionDisabledValue = "disabled"
)

// Annotations on a HelmRelease that request one-off actions. Each takes
// effect only when its value equals the value of the
// reconcile.fluxcd.io/requestedAt annotation, and only once per value.
const (
	// ForceRequestAnnotation requests an install or upgrade even though
	// nothing changed.
	ForceRequestAnnotation string = "reconcile.fluxcd.io/forceAt"

	// ResetRequestAnnotation requests that the failure counters be reset so
	// that a release whose retries are used up is tried again.
	ResetRequestAnnotation string = "reconcile.fluxcd.io/resetAt"
)
