package v1

import (
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferrycd/ferry/pkg/apis/meta"
)

// KustomizationSpec says where the manifests come from, how to build them and
// how to apply them.
type KustomizationSpec struct {
	// sourceRef names the source whose artifact holds the manifests.
	// +required
	SourceRef CrossNamespaceSourceReference `json:"sourceRef"`

	// path to the directory in the artifact holding a kustomization.yaml, or
	// plain manifests for which one is generated. Defaults to the artifact's
	// root.
	// +optional
	Path string `json:"path,omitempty"`

	// interval between reconciles, which also correct drift in the cluster.
	// A new source revision is reconciled at once, outside the interval.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +required
	Interval metav1.Duration `json:"interval"`

	// retryInterval is the wait before retrying a failed reconcile; defaults
	// to interval.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	RetryInterval *metav1.Duration `json:"retryInterval,omitempty"`

	// retry retries a failed reconcile with exponential backoff, as Argo
	// CD's retry policy does: retry n waits min(maxDuration, duration ×
	// factor^n), up to limit retries (a negative limit retries without end).
	// The count, in status.retries, starts again after a success, a new
	// revision or a spec change. Without it a failed reconcile is retried
	// after retryInterval, as in Flux.
	// +optional
	Retry *meta.RetryPolicy `json:"retry,omitempty"`

	// timeout bounds build, apply and health checks of one reconcile;
	// defaults to interval minus 30s, and is never below 30s.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// prune deletes objects that were applied before but are no longer in
	// the source.
	// +required
	Prune bool `json:"prune"`

	// deletionPolicy says what happens to the applied objects when the
	// Kustomization is deleted: MirrorPrune (the default) deletes them if
	// prune is true, Delete always deletes them, Orphan leaves them.
	// +kubebuilder:validation:Enum=MirrorPrune;Delete;Orphan
	// +optional
	DeletionPolicy string `json:"deletionPolicy,omitempty"`

	// wait checks the health of every applied object; healthChecks is then
	// ignored.
	// +optional
	Wait bool `json:"wait,omitempty"`

	// healthChecks lists objects that must become healthy for the
	// Kustomization to be ready.
	// +optional
	HealthChecks []fluxmeta.NamespacedObjectKindReference `json:"healthChecks,omitempty"`

	// healthCheckExprs tell the health checks how to judge custom resource
	// kinds, with CEL. They are used only when wait or healthChecks is set.
	// +optional
	HealthCheckExprs []CustomHealthCheck `json:"healthCheckExprs,omitempty"`

	// dependsOn lists Kustomizations and HelmReleases that must be ready
	// before this one is reconciled. A dependency cycle stalls every
	// Kustomization on it with a message naming the cycle. On deletion, a
	// Kustomization waits until the objects that depend on it and are
	// being deleted too are gone, so dependents are torn down first.
	// +optional
	DependsOn []meta.DependencyReference `json:"dependsOn,omitempty"`

	// decryption decrypts SOPS-encrypted Secrets before they are applied.
	// +optional
	Decryption *Decryption `json:"decryption,omitempty"`

	// postBuild substitutes variables in the build output.
	// +optional
	PostBuild *PostBuild `json:"postBuild,omitempty"`

	// force deletes and recreates objects whose update fails because an
	// immutable field changed.
	// +kubebuilder:default:=false
	// +optional
	Force bool `json:"force,omitempty"`

	// targetNamespace sets the namespace of every namespaced object, like
	// the namespace field of a kustomization.yaml. The namespace must exist
	// or be part of the build.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +optional
	TargetNamespace string `json:"targetNamespace,omitempty"`

	// namePrefix is prepended to the name of every object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=200
	// +optional
	NamePrefix string `json:"namePrefix,omitempty"`

	// nameSuffix is appended to the name of every object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=200
	// +optional
	NameSuffix string `json:"nameSuffix,omitempty"`

	// patches are strategic merge or JSON 6902 patches applied during the
	// build.
	// +optional
	Patches []meta.Patch `json:"patches,omitempty"`

	// images rewrite container image names, tags or digests during the
	// build.
	// +optional
	Images []meta.Image `json:"images,omitempty"`

	// components are paths, relative to path, of kustomize components to
	// include.
	// +optional
	Components []string `json:"components,omitempty"`

	// commonMetadata holds labels and annotations set on every applied
	// object.
	// +optional
	CommonMetadata *CommonMetadata `json:"commonMetadata,omitempty"`

	// serviceAccountName is the ServiceAccount, in the Kustomization's
	// namespace, that the controller impersonates to apply and prune.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// kubeConfig points at a kubeconfig for applying to a remote cluster;
	// serviceAccountName is then impersonated in that cluster.
	// +optional
	KubeConfig *meta.KubeConfigReference `json:"kubeConfig,omitempty"`

	// createNamespace creates targetNamespace when it does not exist,
	// labelled as managed by this Kustomization, like Argo CD's
	// CreateNamespace=true sync option. The namespace is not pruned nor
	// deleted with the Kustomization.
	// +optional
	CreateNamespace bool `json:"createNamespace,omitempty"`

	// pruneLast prunes only after everything new is applied and healthy,
	// like Argo CD's PruneLast=true sync option, so what replaces an object
	// is serving before the object goes.
	// +optional
	PruneLast bool `json:"pruneLast,omitempty"`

	// allowEmpty lets a build that produces no objects prune everything the
	// Kustomization applied before. Without it such a build (a wrong path, a
	// branch emptied by mistake) fails with Ready=False and prunes nothing.
	// +optional
	AllowEmpty bool `json:"allowEmpty,omitempty"`

	// driftDetection says what happens when a managed object is changed in
	// the cluster by hand: corrected within seconds (enabled, the default)
	// or only reported in the Drifted condition and an event (warn).
	// +optional
	DriftDetection *DriftDetection `json:"driftDetection,omitempty"`

	// suspend stops further reconciles; one already running finishes.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// Drift detection modes.
const (
	// DriftDetectionEnabled corrects drift: the edited object is applied
	// again from Git.
	DriftDetectionEnabled = "enabled"
	// DriftDetectionWarn reports drift and writes nothing until the source
	// or the spec changes, like Argo CD without self-heal.
	DriftDetectionWarn = "warn"
)

// DriftDetection configures what is done about objects changed in the
// cluster after they were applied.
type DriftDetection struct {
	// mode is enabled (correct drift) or warn (report it only: a Drifted
	// condition and an event naming the objects and fields).
	// +kubebuilder:validation:Enum=enabled;warn
	// +kubebuilder:default=enabled
	// +optional
	Mode string `json:"mode,omitempty"`
}

// DriftWarnOnly reports whether drift is to be reported and not corrected.
func (in *Kustomization) DriftWarnOnly() bool {
	return in.Spec.DriftDetection != nil && in.Spec.DriftDetection.Mode == DriftDetectionWarn
}

// KustomizationStatus is the state the controller last observed.
type KustomizationStatus struct {
	fluxmeta.ReconcileRequestStatus `json:",inline"`

	// observedGeneration is the generation whose reconcile finished last.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions hold Ready, Reconciling, Stalled and Healthy.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// lastAppliedRevision is the source revision last applied successfully.
	// +optional
	LastAppliedRevision string `json:"lastAppliedRevision,omitempty"`

	// lastAttemptedRevision is the source revision of the last reconcile,
	// successful or not.
	// +optional
	LastAttemptedRevision string `json:"lastAttemptedRevision,omitempty"`

	// inventory lists the objects applied by the last successful reconcile.
	// +optional
	Inventory *ResourceInventory `json:"inventory,omitempty"`

	meta.RetryStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:shortName=ks,categories=all;fluxcd;fluxcd-appliers
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description=""
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status",description=""
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message",description=""
// +kubebuilder:printcolumn:name="Sync",type="string",JSONPath=".status.conditions[?(@.type==\"Drifted\")].reason",description="Synced or OutOfSync: whether the cluster matches what was applied"
// +kubebuilder:printcolumn:name="Retries",type="integer",JSONPath=".status.retries",priority=1,description="Retries since the last success"
// +kubebuilder:printcolumn:name="Next Retry",type="date",JSONPath=".status.nextRetryAt",priority=1,description="When the next retry is due"

// Kustomization builds the manifests at a path of a source artifact with
// kustomize and keeps the cluster equal to the result.
type Kustomization struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state.
	// +required
	Spec KustomizationSpec `json:"spec,omitempty"`

	// status is the observed state.
	// +kubebuilder:default:={"observedGeneration":-1}
	// +optional
	Status KustomizationStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions.
func (in *Kustomization) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *Kustomization) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns how long to wait after a successful reconcile:
// spec.interval.
func (in *Kustomization) GetRequeueAfter() time.Duration {
	return in.Spec.Interval.Duration
}

// GetRetryInterval returns how long to wait after a failed reconcile:
// spec.retryInterval, or spec.interval when it is unset.
func (in *Kustomization) GetRetryInterval() time.Duration {
	if in.Spec.RetryInterval != nil {
		return in.Spec.RetryInterval.Duration
	}
	return in.GetRequeueAfter()
}

// minTimeout is the shortest timeout a reconcile gets, as in Flux.
const minTimeout = 30 * time.Second

// GetTimeout returns the time one reconcile may take: spec.timeout, or
// spec.interval minus 30s when it is unset. As in Flux, the result is never
// below 30s, so that health checks get a fair chance.
func (in *Kustomization) GetTimeout() time.Duration {
	timeout := in.Spec.Interval.Duration - minTimeout
	if in.Spec.Timeout != nil {
		timeout = in.Spec.Timeout.Duration
	}
	return max(timeout, minTimeout)
}

// GetDeletionPolicy returns spec.deletionPolicy, or MirrorPrune when it is
// unset.
func (in *Kustomization) GetDeletionPolicy() string {
	if in.Spec.DeletionPolicy == "" {
		return DeletionPolicyMirrorPrune
	}
	return in.Spec.DeletionPolicy
}

// GetRetry returns spec.retry; nil retries after retryInterval.
func (in *Kustomization) GetRetry() *meta.RetryPolicy {
	return in.Spec.Retry
}

// GetRetryStatus returns the status part that counts retries.
func (in *Kustomization) GetRetryStatus() *meta.RetryStatus {
	return &in.Status.RetryStatus
}

// GetRetryRevision returns the source revision the last reconcile
// attempted; a new one starts the retry count again.
func (in *Kustomization) GetRetryRevision() string {
	return in.Status.LastAttemptedRevision
}

// GetDependsOn returns the Kustomizations and HelmReleases this one waits
// for.
func (in *Kustomization) GetDependsOn() []meta.DependencyReference {
	return in.Spec.DependsOn
}

// +kubebuilder:object:root=true

// KustomizationList is a list of Kustomizations.
type KustomizationList struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the Kustomizations.
	Items []Kustomization `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Kustomization{}, &KustomizationList{})
}

// GetReconcileRequestStatus returns the status part that records the last
// handled reconcile.fluxcd.io/requestedAt value.
func (in *Kustomization) GetReconcileRequestStatus() *fluxmeta.ReconcileRequestStatus {
	return &in.Status.ReconcileRequestStatus
}
