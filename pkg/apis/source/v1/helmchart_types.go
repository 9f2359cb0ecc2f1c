package v1

import (
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// HelmChartKind is the kind name, as used in source references.
	HelmChartKind = "HelmChart"

	// ReconcileStrategyChartVersion stores a new chart artifact only when the
	// chart's version changes.
	ReconcileStrategyChartVersion = "ChartVersion"

	// ReconcileStrategyRevision stores a new chart artifact whenever the
	// source revision changes, for charts built from Git.
	ReconcileStrategyRevision = "Revision"
)

// HelmChartSpec is which chart to fetch or package, and from which source.
type HelmChartSpec struct {
	// chart is the chart name in a HelmRepository, or the chart directory's
	// path in a GitRepository artifact.
	// +required
	Chart string `json:"chart"`

	// version is a semver constraint picking the chart version from a
	// HelmRepository; "*" takes the latest stable one. Ignored for charts
	// from Git, whose Chart.yaml decides.
	// +kubebuilder:default:=*
	// +optional
	Version string `json:"version,omitempty"`

	// sourceRef names the HelmRepository or GitRepository, in the same
	// namespace, that holds the chart.
	// +required
	SourceRef LocalHelmChartSourceReference `json:"sourceRef"`

	// interval is how often the source is checked for a newer chart.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +required
	Interval metav1.Duration `json:"interval"`

	// reconcileStrategy decides what makes a new artifact: ChartVersion (a
	// new chart version) or Revision (any new source revision, with the
	// revision appended to the version).
	// +kubebuilder:validation:Enum=ChartVersion;Revision
	// +kubebuilder:default:=ChartVersion
	// +optional
	ReconcileStrategy string `json:"reconcileStrategy,omitempty"`

	// valuesFiles are paths, relative to the source, of values files merged in
	// order (later wins) and packaged into the chart as its values.yaml.
	// +optional
	ValuesFiles []string `json:"valuesFiles,omitempty"`

	// ignoreMissingValuesFiles skips values files that do not exist instead of
	// failing, for charts shared by environments with different overrides.
	// +optional
	IgnoreMissingValuesFiles bool `json:"ignoreMissingValuesFiles,omitempty"`

	// suspend stops reconciliation while true, leaving the last artifact in
	// place.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// verify makes the controller check the chart's cosign signature against
	// trusted public keys before it is pulled. Supported only for charts
	// from a HelmRepository of type oci: a HelmChart from another source that
	// asks for verification is refused rather than served unverified.
	// Dependencies that are not packaged inside the chart are not verified.
	// +optional
	Verify *OCIRepositoryVerification `json:"verify,omitempty"`
}

// LocalHelmChartSourceReference names the source of a chart in the HelmChart's
// namespace.
type LocalHelmChartSourceReference struct {
	// apiVersion of the source; the served version when empty.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// kind of the source. Flux also accepts Bucket, which Ferry does not
	// implement.
	// +kubebuilder:validation:Enum=HelmRepository;GitRepository
	// +required
	Kind string `json:"kind"`

	// name of the source.
	// +required
	Name string `json:"name"`
}

// HelmChartStatus is what the source-controller last observed and stored.
type HelmChartStatus struct {
	// observedGeneration is the generation whose reconcile last finished.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// observedSourceArtifactRevision is the source artifact revision the
	// current chart was built from, so a new source revision is noticed.
	// +optional
	ObservedSourceArtifactRevision string `json:"observedSourceArtifactRevision,omitempty"`

	// observedChartName is the chart name the current artifact was built for,
	// so a renamed chart forces a rebuild.
	// +optional
	ObservedChartName string `json:"observedChartName,omitempty"`

	// observedValuesFiles are the values files that went into the current
	// artifact; with ignoreMissingValuesFiles, only those that existed.
	// +optional
	ObservedValuesFiles []string `json:"observedValuesFiles,omitempty"`

	// conditions holds Ready, Reconciling, Stalled and the source conditions.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// url is a stable address of the latest stored chart, kept for clients
	// that predate status.artifact; status.artifact.url is exact.
	// +optional
	URL string `json:"url,omitempty"`

	// artifact is the last packaged chart stored, which the helm-controller
	// installs.
	// +optional
	Artifact *fluxmeta.Artifact `json:"artifact,omitempty"`

	fluxmeta.ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:resource:shortName=hc,categories=all;fluxcd;fluxcd-sources
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Chart",type=string,JSONPath=`.spec.chart`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.spec.version`
// +kubebuilder:printcolumn:name="Source Kind",type=string,JSONPath=`.spec.sourceRef.kind`
// +kubebuilder:printcolumn:name="Source Name",type=string,JSONPath=`.spec.sourceRef.name`
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:metadata:annotations="kustomize.toolkit.fluxcd.io/substitute=disabled"

// HelmChart produces a packaged Helm chart artifact from a HelmRepository or
// a GitRepository.
type HelmChart struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec HelmChartSpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	Status HelmChartStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions.
func (in *HelmChart) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *HelmChart) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns spec.interval, the wait before the next check.
func (in *HelmChart) GetRequeueAfter() time.Duration {
	return in.Spec.Interval.Duration
}

// GetArtifact returns the last stored artifact, or nil.
func (in *HelmChart) GetArtifact() *fluxmeta.Artifact {
	return in.Status.Artifact
}

// +kubebuilder:object:root=true

// HelmChartList is a list of HelmChart objects.
type HelmChartList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []HelmChart `json:"items"`
}

func init() {
	SchemeBuilder.Register(&HelmChart{}, &HelmChartList{})
}

// GetReconcileRequestStatus returns the status part that records the last
// handled reconcile.fluxcd.io/requestedAt value.
func (in *HelmChart) GetReconcileRequestStatus() *fluxmeta.ReconcileRequestStatus {
	return &in.Status.ReconcileRequestStatus
}
