package v1

// SourceFinalizer is the finalizer the source-controller puts on every source
// object, so it can remove the object's artifacts from storage before the
// object is gone. The value is Flux's, so objects that moved between Flux and
// Ferry keep working.
const SourceFinalizer = "finalizers.fluxcd.io"

// Condition types that sources report next to Ready, Reconciling and Stalled
// (which live in github.com/fluxcd/pkg/apis/meta). The negative ones
// (ArtifactOutdated, FetchFailed, BuildFailed, StorageOperationFailed,
// IncludeUnavailable) are present only while True, as kstatus expects.
const (
	// ArtifactInStorageCondition is True once the artifact named in
	// status.artifact exists in storage, so consumers can tell a stored
	// artifact from one the controller has lost (for example after a restart
	// with an emptyDir).
	ArtifactInStorageCondition string = "ArtifactInStorage"

	// ArtifactOutdatedCondition is True while the stored artifact no longer
	// matches the spec or the upstream revision and a new one is on its way.
	ArtifactOutdatedCondition string = "ArtifactOutdated"

	// SourceVerifiedCondition reports the result of signature verification;
	// it is present only when the spec asks for verification.
	SourceVerifiedCondition string = "SourceVerified"

	// FetchFailedCondition is True while the upstream (Git server, Helm
	// repository, OCI registry) cannot be read, so the stored artifact may be
	// stale.
	FetchFailedCondition string = "FetchFailed"

	// BuildFailedCondition is True while the artifact cannot be built from
	// fetched content, for example a Helm chart that does not package.
	BuildFailedCondition string = "BuildFailed"

	// StorageOperationFailedCondition is True while writing, archiving or
	// locking in the artifact storage fails.
	StorageOperationFailedCondition string = "StorageOperationFailed"

	// IncludeUnavailableCondition is True while a GitRepository named in
	// spec.include does not exist or has no artifact yet.
	IncludeUnavailableCondition string = "IncludeUnavailable"
)

// Condition and event reasons. They are helpers for the controller, not part
// of the declarative API; values match Flux so dashboards and alerts written
// for Flux keep matching.
const (
	// URLInvalidReason means the spec's URL cannot be used; retrying will not
	// help until the spec changes.
	URLInvalidReason string = "URLInvalid"

	// AuthenticationFailedReason means the referenced Secret is missing,
	// lacks the expected keys, or its credentials were refused.
	AuthenticationFailedReason string = "AuthenticationFailed"

	// VerificationErrorReason means signature verification could not confirm
	// the source.
	VerificationErrorReason string = "VerificationError"

	// DirCreationFailedReason means a directory in storage could not be
	// created.
	DirCreationFailedReason string = "DirectoryCreationFailed"

	// StatOperationFailedReason means a path in storage could not be
	// inspected.
	StatOperationFailedReason string = "StatOperationFailed"

	// ReadOperationFailedReason means a file could not be read.
	ReadOperationFailedReason string = "ReadOperationFailed"

	// AcquireLockFailedReason means the per-artifact storage lock could not
	// be taken.
	AcquireLockFailedReason string = "AcquireLockFailed"

	// InvalidPathReason means a path from the spec escapes its root or does
	// not exist.
	InvalidPathReason string = "InvalidPath"

	// ArchiveOperationFailedReason means the artifact tarball could not be
	// written.
	ArchiveOperationFailedReason string = "ArchiveOperationFailed"

	// ArtifactUpToDateReason means the stored artifact already matches the
	// upstream revision, so nothing new was stored.
	ArtifactUpToDateReason string = "ArtifactUpToDate"

	// NewArtifactReason marks the event recorded when a new artifact was
	// stored.
	NewArtifactReason string = "NewArtifact"

	// NewRevisionReason explains ArtifactOutdated when the upstream revision
	// moved on.
	NewRevisionReason string = "NewRevision"

	// GitOperationSucceedReason means clone or checkout succeeded.
	GitOperationSucceedReason string = "GitOperationSucceeded"

	// GitOperationFailedReason means clone or checkout failed.
	GitOperationFailedReason string = "GitOperationFailed"

	// IndexationFailedReason means a Helm repository index could not be
	// fetched or parsed.
	IndexationFailedReason string = "IndexationFailed"

	// ChartPullSucceededReason means a packaged chart was pulled unchanged
	// from a Helm repository.
	ChartPullSucceededReason string = "ChartPullSucceeded"

	// ChartPackageSucceededReason means a chart was packaged, from a source
	// directory or with merged values files.
	ChartPackageSucceededReason string = "ChartPackageSucceeded"

	// OCIPullFailedReason means an OCI artifact could not be pulled.
	OCIPullFailedReason string = "OCIArtifactPullFailed"

	// OCILayerOperationFailedReason means the selected OCI layer could not be
	// extracted or copied.
	OCILayerOperationFailedReason string = "OCIArtifactLayerOperationFailed"

	// SourceUnavailableReason means the source a HelmChart names does not
	// exist or has no artifact yet.
	SourceUnavailableReason string = "SourceUnavailable"

	// InvalidChartReferenceReason means the chart or a version matching
	// spec.version is not in the source.
	InvalidChartReferenceReason string = "InvalidChartReference"

	// ChartPullErrorReason means a chart could not be downloaded, or what was
	// downloaded is not the chart that was asked for.
	ChartPullErrorReason string = "ChartPullError"

	// ChartPackageErrorReason means a chart from a source directory could not
	// be loaded or packaged.
	ChartPackageErrorReason string = "ChartPackageError"

	// DependencyBuildErrorReason means a dependency of a chart could not be
	// resolved.
	DependencyBuildErrorReason string = "DependencyBuildError"

	// ValuesFilesErrorReason means a file named in spec.valuesFiles could not
	// be read or merged.
	ValuesFilesErrorReason string = "ValuesFilesError"
)
