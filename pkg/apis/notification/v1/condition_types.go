package v1

// NotificationFinalizer is the finalizer the notification-controller puts on
// the objects it reconciles, so it can clean up before they are deleted. It
// is the same string Flux uses, so objects created under Flux carry over.
const NotificationFinalizer = "finalizers.fluxcd.io"

// Reasons used by the notification-controller, in conditions and in the
// Kubernetes Events it records. Ready, Reconciling and Stalled and the generic
// reasons (Succeeded, Progressing, ...) come from github.com/fluxcd/pkg/apis/meta.
const (
	// ValidationFailedReason means part of the spec cannot be used as
	// written, so retrying will not help until the object is changed.
	ValidationFailedReason string = "ValidationFailed"

	// TokenNotFoundReason means the Secret a Receiver points at is missing
	// or has no "token" key, so no webhook path can be computed.
	TokenNotFoundReason string = "TokenNotFound"

	// InvalidConfigReason means a setting of an Alert or Provider cannot be
	// used when an event is handled, for example an inclusion or exclusion
	// regular expression that does not compile.
	InvalidConfigReason string = "InvalidConfig"

	// NotificationDispatchFailedReason means sending an event to a
	// Provider's endpoint failed.
	NotificationDispatchFailedReason string = "NotificationDispatchFailed"

	// SourceFetchFailedReason means the object an event is about could not be
	// read, so the matchLabels of an Alert's event source could not be
	// checked against it.
	SourceFetchFailedReason string = "SourceFetchFailed"

	// MetadataAppendFailedReason means the metadata of an event could not be
	// merged with the metadata an Alert adds, because keys clash.
	MetadataAppendFailedReason string = "MetadataAppendFailed"
)
