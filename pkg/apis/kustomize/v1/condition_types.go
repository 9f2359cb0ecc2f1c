package v1

// Condition types a Kustomization reports besides Ready, Reconciling and
// Stalled.
const (
	// HealthyCondition records the outcome of the last health assessment of
	// the applied objects. It is only set when spec.wait or spec.healthChecks
	// asks for one.
	HealthyCondition string = "Healthy"

	// DriftedCondition says whether the managed objects still match what was
	// applied: False with Synced after an apply or when nothing drifted,
	// True with OutOfSync when spec.driftDetection.mode is warn and objects
	// were changed in the cluster (the message names them and their fields).
	DriftedCondition string = "Drifted"
)

// Reasons for the Kustomization conditions. The strings are Flux's, so
// alerts and tooling that match on them keep working.
const (
	// SyncedReason means the managed objects match the applied revision,
	// Argo CD's Synced.
	SyncedReason string = "Synced"

	// OutOfSyncReason means managed objects were changed in the cluster and
	// drift detection only warns, Argo CD's OutOfSync.
	OutOfSyncReason string = "OutOfSync"

	// ReconciliationSucceededReason means the last revision was built,
	// applied, pruned and, if asked, found healthy.
	ReconciliationSucceededReason string = "ReconciliationSucceeded"

	// ReconciliationFailedReason means a step of the reconcile failed for a
	// cause no more specific reason below describes.
	ReconciliationFailedReason string = "ReconciliationFailed"

	// ProgressingWithRetryReason means the reconcile hit an error and will be
	// tried again after spec.retryInterval.
	ProgressingWithRetryReason string = "ProgressingWithRetry"

	// ArtifactFailedReason means the source artifact could not be fetched,
	// verified against its digest or unpacked.
	ArtifactFailedReason string = "ArtifactFailed"

	// BuildFailedReason means kustomize build, SOPS decryption or variable
	// substitution failed.
	BuildFailedReason string = "BuildFailed"

	// HealthCheckFailedReason means one or more applied objects did not
	// become healthy within spec.timeout.
	HealthCheckFailedReason string = "HealthCheckFailed"

	// HealthCheckCanceledReason means the health assessment was stopped
	// because a newer source revision arrived.
	HealthCheckCanceledReason string = "HealthCheckCanceled"

	// DependencyNotReadyReason means an entry of spec.dependsOn is missing or
	// not ready yet; the Kustomization waits and checks again.
	DependencyNotReadyReason string = "DependencyNotReady"

	// PruneFailedReason means deleting objects that left the inventory
	// failed.
	PruneFailedReason string = "PruneFailed"

	// AccessDeniedReason means the reference to the source is not allowed,
	// for example a cross-namespace reference while those are disabled.
	AccessDeniedReason string = "AccessDenied"

	// EmptyBuildReason means a build produced no objects while the
	// Kustomization owns some, and spec.allowEmpty does not let it prune
	// them all.
	EmptyBuildReason string = "EmptyBuild"
)

const (
	// KustomizationKind is the kind name of the Kustomization API.
	KustomizationKind = "Kustomization"

	// KustomizationFinalizer holds a Kustomization back from deletion until
	// the controller has run its deletion policy.
	KustomizationFinalizer = "finalizers.fluxcd.io"
)

// Labels the controller puts on every object it applies, so that it can tell
// its own objects apart when it prunes.
const (
	// NameLabel holds the name of the Kustomization that applied the object.
	NameLabel = "kustomize.toolkit.fluxcd.io/name"

	// NamespaceLabel holds the namespace of the Kustomization that applied
	// the object.
	NamespaceLabel = "kustomize.toolkit.fluxcd.io/namespace"
)

// Per-object policies, read from a label or an annotation of the same key on
// the objects in the source. Values are compared without regard to case, as
// Flux does.
const (
	// PruneAnnotation set to DisabledValue keeps the object in the cluster
	// when it leaves the source or the Kustomization is deleted.
	PruneAnnotation = "kustomize.toolkit.fluxcd.io/prune"

	// SSAAnnotation selects how the object is applied: OverrideValue (the
	// default), MergeValue, IfNotPresentValue or IgnoreValue.
	SSAAnnotation = "kustomize.toolkit.fluxcd.io/ssa"

	// ReconcileAnnotation set to DisabledValue makes the controller leave an
	// object that already exists in the cluster alone.
	ReconcileAnnotation = "kustomize.toolkit.fluxcd.io/reconcile"

	// ForceAnnotation set to EnabledValue lets the controller delete and
	// recreate the object when an immutable field changes, as spec.force
	// does for all objects.
	ForceAnnotation = "kustomize.toolkit.fluxcd.io/force"

	// SubstituteAnnotation set to DisabledValue skips post-build variable
	// substitution for the object.
	SubstituteAnnotation = "kustomize.toolkit.fluxcd.io/substitute"
)

// Values of the per-object policies.
const (
	// EnabledValue switches a policy on.
	EnabledValue = "enabled"

	// DisabledValue switches a policy off.
	DisabledValue = "disabled"

	// OverrideValue applies the object and takes over the fields that other
	// managers set; it is what happens without an ssa policy.
	OverrideValue = "Override"

	// MergeValue applies the object but keeps fields set by other managers.
	MergeValue = "Merge"

	// IfNotPresentValue creates the object if it is missing and never
	// updates it afterwards.
	IfNotPresentValue = "IfNotPresent"

	// IgnoreValue skips the object entirely, also when pruning.
	IgnoreValue = "Ignore"
)

// Values of spec.deletionPolicy.
const (
	// DeletionPolicyMirrorPrune deletes the applied objects when spec.prune
	// is true and leaves them otherwise. It is the default.
	DeletionPolicyMirrorPrune = "MirrorPrune"

	// DeletionPolicyDelete deletes the applied objects whatever spec.prune
	// says.
	DeletionPolicyDelete = "Delete"

	// DeletionPolicyOrphan leaves the applied objects in the cluster.
	DeletionPolicyOrphan = "Orphan"
)
