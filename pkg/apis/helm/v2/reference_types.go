package v2

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferrycd/ferry/pkg/apis/meta"
)

// HelmChartTemplate describes the HelmChart the controller creates for a
// HelmRelease, in the namespace of the chart's source.
type HelmChartTemplate struct {
	// metadata holds labels and annotations for the HelmChart.
	// +optional
	ObjectMeta *HelmChartTemplateObjectMeta `json:"metadata,omitempty"`

	// spec is the spec of the HelmChart.
	// +required
	Spec HelmChartTemplateSpec `json:"spec"`
}

// HelmChartTemplateObjectMeta holds the metadata set on the created HelmChart.
type HelmChartTemplateObjectMeta struct {
	// labels to set on the HelmChart.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// annotations to set on the HelmChart.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// HelmChartTemplateSpec is the spec of the created HelmChart.
type HelmChartTemplateSpec struct {
	// chart is the name of the chart in a HelmRepository, or its path in a
	// GitRepository.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +required
	Chart string `json:"chart"`

	// version is a semver range picking the chart version from a
	// HelmRepository; the newest version is taken when omitted. It is
	// ignored for charts from a GitRepository.
	// +kubebuilder:default:=*
	// +optional
	Version string `json:"version,omitempty"`

	// sourceRef names the source that holds the chart.
	// +required
	SourceRef CrossNamespaceObjectReference `json:"sourceRef"`

	// interval at which the HelmChart checks its source for a new chart;
	// defaults to the HelmRelease's interval.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// reconcileStrategy says what makes a new chart artifact: a new chart
	// version (ChartVersion, the default) or a new source revision
	// (Revision).
	// +kubebuilder:validation:Enum=ChartVersion;Revision
	// +kubebuilder:default:=ChartVersion
	// +optional
	ReconcileStrategy string `json:"reconcileStrategy,omitempty"`

	// valuesFiles are paths in the source of values files merged, in order,
	// into the chart's default values; the chart's values.yaml is only used
	// when listed.
	// +optional
	ValuesFiles []string `json:"valuesFiles,omitempty"`

	// ignoreMissingValuesFiles skips values files that do not exist instead
	// of failing.
	// +optional
	IgnoreMissingValuesFiles bool `json:"ignoreMissingValuesFiles,omitempty"`
}

// GetInterval returns the HelmChart's interval, or def when it is unset.
func (in HelmChartTemplate) GetInterval(def metav1.Duration) metav1.Duration {
	if in.Spec.Interval == nil {
		return def
	}
	return *in.Spec.Interval
}

// GetNamespace returns the namespace of the chart's source, or def when the
// reference names none.
func (in HelmChartTemplate) GetNamespace(def string) string {
	if in.Spec.SourceRef.Namespace == "" {
		return def
	}
	return in.Spec.SourceRef.Namespace
}

// CrossNamespaceObjectReference names the source a chart template takes the
// chart from.
type CrossNamespaceObjectReference struct {
	// apiVersion of the source; the served version is used when it is
	// empty.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// kind of the source. Ferry serves HelmRepository and GitRepository
	// sources here.
	// +kubebuilder:validation:Enum=HelmRepository;GitRepository
	// +required
	Kind string `json:"kind"`

	// name of the source.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// namespace of the source, defaults to the namespace of the HelmRelease.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// CrossNamespaceSourceReference names an existing source object whose
// artifact is the chart: an OCIRepository, a HelmChart or an
// ExternalArtifact.
type CrossNamespaceSourceReference struct {
	// apiVersion of the source; the served version is used when it is
	// empty.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// kind of the source.
	// +kubebuilder:validation:Enum=OCIRepository;HelmChart;ExternalArtifact
	// +required
	Kind string `json:"kind"`

	// name of the source.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// namespace of the source, defaults to the namespace of the HelmRelease.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// ValuesReference names a ConfigMap or Secret, in the HelmRelease's
// namespace, that holds values for the release.
type ValuesReference struct {
	// kind of the object holding the values.
	// +kubebuilder:validation:Enum=Secret;ConfigMap
	// +required
	Kind string `json:"kind"`

	// name of the object holding the values.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// valuesKey is the data key holding a values YAML document, or a single
	// value when targetPath is set. Defaults to "values.yaml".
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[\-._a-zA-Z0-9]+$`
	// +optional
	ValuesKey string `json:"valuesKey,omitempty"`

	// targetPath is the path, in helm --set syntax, at which the single
	// value is set. Without it the document is merged at the root.
	// +kubebuilder:validation:MaxLength=250
	// +kubebuilder:validation:Pattern=`^([a-zA-Z0-9_\-.\\\/]|\[[0-9]{1,5}\])+$`
	// +optional
	TargetPath string `json:"targetPath,omitempty"`

	// optional, when true, ignores a missing object; a missing key or any
	// other error still fails the reconcile.
	// +optional
	Optional bool `json:"optional,omitempty"`
}

// DefaultValuesKey is the data key read when a ValuesReference names none.
const DefaultValuesKey = "values.yaml"

// GetValuesKey returns valuesKey, or "values.yaml" when it is unset.
func (in ValuesReference) GetValuesKey() string {
	if in.ValuesKey == "" {
		return DefaultValuesKey
	}
	return in.ValuesKey
}

// PostRenderer changes the rendered manifests of a release before Helm
// applies them.
type PostRenderer struct {
	// kustomize patches the manifests and rewrites their images.
	// +optional
	Kustomize *Kustomize `json:"kustomize,omitempty"`
}

// Kustomize is a post-renderer that runs kustomize over the rendered
// manifests.
type Kustomize struct {
	// patches are strategic merge or JSON 6902 patches applied to the
	// manifests.
	// +optional
	Patches []meta.Patch `json:"patches,omitempty"`

	// images rewrite container image names, tags or digests.
	// +optional
	Images []meta.Image `json:"images,omitempty"`
}
