package v1alpha1

import (
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Kind names of the analysis kinds.
const (
	AnalysisTemplateKind        = "AnalysisTemplate"
	ClusterAnalysisTemplateKind = "ClusterAnalysisTemplate"
	AnalysisRunKind             = "AnalysisRun"
)

// AnalysisPhase is the phase of an AnalysisRun, a metric or a measurement,
// with Argo Rollouts' values.
// +kubebuilder:validation:Enum=Pending;Running;Successful;Failed;Error;Inconclusive
type AnalysisPhase string

const (
	AnalysisPhasePending      AnalysisPhase = "Pending"
	AnalysisPhaseRunning      AnalysisPhase = "Running"
	AnalysisPhaseSuccessful   AnalysisPhase = "Successful"
	AnalysisPhaseFailed       AnalysisPhase = "Failed"
	AnalysisPhaseError        AnalysisPhase = "Error"
	AnalysisPhaseInconclusive AnalysisPhase = "Inconclusive"
)

// Completed reports whether the phase is final.
func (p AnalysisPhase) Completed() bool {
	switch p {
	case AnalysisPhaseSuccessful, AnalysisPhaseFailed, AnalysisPhaseError, AnalysisPhaseInconclusive:
		return true
	}
	return false
}

// DurationString is a Go duration with Argo Rollouts' units ("30s", "5m").
// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
type DurationString string

// AnalysisTemplateSpec is what an AnalysisTemplate, a
// ClusterAnalysisTemplate and an AnalysisRun share.
type AnalysisTemplateSpec struct {
	// metrics are measured, each on its own schedule, and decide the run.
	// +kubebuilder:validation:MinItems=1
	// +listType=map
	// +listMapKey=name
	// +required
	Metrics []Metric `json:"metrics"`

	// args are the template's arguments, referenced as {{args.NAME}}; one
	// without a value must be given by the rollout.
	// +optional
	Args []Argument `json:"args,omitempty"`
}

// Argument is a template argument.
type Argument struct {
	// name of the argument.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`

	// value is the argument's value or default.
	// +optional
	Value *string `json:"value,omitempty"`
}

// Metric is one measurement the analysis takes, with the conditions that
// judge it.
type Metric struct {
	// name of the metric, unique in the template.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`

	// interval is the time between measurements; without it the metric is
	// measured once.
	// +optional
	Interval DurationString `json:"interval,omitempty"`

	// initialDelay is how long to wait before the first measurement.
	// +optional
	InitialDelay DurationString `json:"initialDelay,omitempty"`

	// count is how many measurements to take; 1 when there is no interval,
	// unlimited (until the run is terminated) when 0 with an interval.
	// +kubebuilder:validation:XIntOrString
	// +optional
	Count *intstr.IntOrString `json:"count,omitempty"`

	// successCondition is an expression over result that a successful
	// measurement satisfies ("result[0] >= 0.95").
	// +optional
	SuccessCondition string `json:"successCondition,omitempty"`

	// failureCondition is an expression over result that a failed
	// measurement satisfies.
	// +optional
	FailureCondition string `json:"failureCondition,omitempty"`

	// failureLimit is how many failed measurements are tolerated before the
	// metric fails; 0 when unset, -1 for no limit.
	// +kubebuilder:validation:XIntOrString
	// +optional
	FailureLimit *intstr.IntOrString `json:"failureLimit,omitempty"`

	// inconclusiveLimit is how many inconclusive measurements are tolerated
	// before the metric is inconclusive; 0 when unset.
	// +kubebuilder:validation:XIntOrString
	// +optional
	InconclusiveLimit *intstr.IntOrString `json:"inconclusiveLimit,omitempty"`

	// consecutiveErrorLimit is how many errors in a row are tolerated
	// before the metric errs; 4 when unset.
	// +kubebuilder:validation:XIntOrString
	// +optional
	ConsecutiveErrorLimit *intstr.IntOrString `json:"consecutiveErrorLimit,omitempty"`

	// provider says where measurements come from.
	// +required
	Provider MetricProvider `json:"provider"`
}

// MetricProvider holds exactly one provider.
// +kubebuilder:validation:XValidation:rule="has(self.prometheus) != has(self.web)",message="exactly one of prometheus and web must be set"
type MetricProvider struct {
	// prometheus runs a PromQL query.
	// +optional
	Prometheus *PrometheusMetric `json:"prometheus,omitempty"`

	// web fetches a JSON document over HTTP.
	// +optional
	Web *WebMetric `json:"web,omitempty"`
}

// PrometheusMetric is a Prometheus instant query.
type PrometheusMetric struct {
	// address is the Prometheus server's URL.
	// +kubebuilder:validation:MinLength=1
	// +required
	Address string `json:"address"`

	// query is the PromQL query; {{args.NAME}} is substituted.
	// +kubebuilder:validation:MinLength=1
	// +required
	Query string `json:"query"`

	// timeout is the query timeout in seconds.
	// +kubebuilder:validation:Minimum=1
	// +optional
	Timeout *int64 `json:"timeout,omitempty"`
}

// WebMetricHeader is an HTTP header of a web metric's request.
type WebMetricHeader struct {
	// key is the header's name.
	// +required
	Key string `json:"key"`

	// value is the header's value.
	// +required
	Value string `json:"value"`
}

// WebMetric is an HTTP request whose JSON response is measured.
type WebMetric struct {
	// method is the HTTP method; GET when unset.
	// +kubebuilder:validation:Enum=GET;POST;PUT
	// +optional
	Method string `json:"method,omitempty"`

	// url is the endpoint; {{args.NAME}} is substituted.
	// +kubebuilder:validation:MinLength=1
	// +required
	URL string `json:"url"`

	// headers are sent with the request.
	// +optional
	Headers []WebMetricHeader `json:"headers,omitempty"`

	// body is sent with POST and PUT requests.
	// +optional
	Body string `json:"body,omitempty"`

	// timeoutSeconds is the request timeout; 10 when unset.
	// +kubebuilder:validation:Minimum=1
	// +optional
	TimeoutSeconds int64 `json:"timeoutSeconds,omitempty"`

	// jsonPath selects the result from the response ("{$.data.ok}"); the
	// whole document when unset.
	// +optional
	JSONPath string `json:"jsonPath,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=at
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"

// AnalysisTemplate is a namespaced template of AnalysisRuns.
type AnalysisTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AnalysisTemplateSpec `json:"spec,omitempty"`
}

// +kubebuilder:object:root=true

// AnalysisTemplateList is a list of AnalysisTemplates.
type AnalysisTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AnalysisTemplate `json:"items"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=cat
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"

// ClusterAnalysisTemplate is an AnalysisTemplate every namespace can use.
type ClusterAnalysisTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AnalysisTemplateSpec `json:"spec,omitempty"`
}

// +kubebuilder:object:root=true

// ClusterAnalysisTemplateList is a list of ClusterAnalysisTemplates.
type ClusterAnalysisTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterAnalysisTemplate `json:"items"`
}

// AnalysisRunSpec is an analysis with its arguments resolved.
type AnalysisRunSpec struct {
	// metrics are measured, each on its own schedule.
	// +kubebuilder:validation:MinItems=1
	// +listType=map
	// +listMapKey=name
	// +required
	Metrics []Metric `json:"metrics"`

	// args are the run's arguments.
	// +optional
	Args []Argument `json:"args,omitempty"`

	// terminate stops the run: metrics not yet decided end with what they
	// measured so far.
	// +optional
	Terminate bool `json:"terminate,omitempty"`
}

// Measurement is one measurement of a metric.
type Measurement struct {
	// phase is the measurement's verdict.
	// +required
	Phase AnalysisPhase `json:"phase"`

	// message says why a measurement erred or what it found.
	// +optional
	Message string `json:"message,omitempty"`

	// startedAt is when the measurement began.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`

	// finishedAt is when the measurement ended.
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`

	// value is the measured result, as text.
	// +optional
	Value string `json:"value,omitempty"`
}

// MetricResult is the state of one metric of a run.
type MetricResult struct {
	// name of the metric.
	// +required
	Name string `json:"name"`

	// phase is the metric's verdict so far.
	// +required
	Phase AnalysisPhase `json:"phase"`

	// measurements are the latest measurements, oldest first.
	// +optional
	Measurements []Measurement `json:"measurements,omitempty"`

	// message says why the metric is in its phase.
	// +optional
	Message string `json:"message,omitempty"`

	// count is the number of measurements taken.
	// +optional
	Count int32 `json:"count,omitempty"`

	// successful is the number of successful measurements.
	// +optional
	Successful int32 `json:"successful,omitempty"`

	// failed is the number of failed measurements.
	// +optional
	Failed int32 `json:"failed,omitempty"`

	// inconclusive is the number of inconclusive measurements.
	// +optional
	Inconclusive int32 `json:"inconclusive,omitempty"`

	// error is the number of measurements that erred.
	// +optional
	Error int32 `json:"error,omitempty"`

	// consecutiveError is the number of errors in a row.
	// +optional
	ConsecutiveError int32 `json:"consecutiveError,omitempty"`
}

// AnalysisRunStatus is the observed state of an AnalysisRun.
type AnalysisRunStatus struct {
	// phase is the run's verdict so far.
	// +optional
	Phase AnalysisPhase `json:"phase,omitempty"`

	// message says why the run is in its phase, naming the deciding metric.
	// +optional
	Message string `json:"message,omitempty"`

	// metricResults are the metrics' states.
	// +optional
	MetricResults []MetricResult `json:"metricResults,omitempty"`

	// startedAt is when the run began.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`

	// observedGeneration is the last generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions holds Ferry's Ready (and Reconciling/Stalled while true).
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	fluxmeta.ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=ar
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.phase",description="AnalysisRun status"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status",priority=1
// +kubebuilder:printcolumn:name="Message",type="string",JSONPath=".status.message",priority=1
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"

// AnalysisRun measures metrics and decides whether a rollout may go on.
type AnalysisRun struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   AnalysisRunSpec   `json:"spec,omitempty"`
	Status AnalysisRunStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions.
func (in *AnalysisRun) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions replaces the status conditions.
func (in *AnalysisRun) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// GetReconcileRequestStatus returns the handled reconcile request.
func (in *AnalysisRun) GetReconcileRequestStatus() *fluxmeta.ReconcileRequestStatus {
	return &in.Status.ReconcileRequestStatus
}

// GetRequeueAfter is zero: a run is measured on its metrics' own
// schedule (interval, initialDelay), which the reconciler requeues by.
func (in *AnalysisRun) GetRequeueAfter() time.Duration { return 0 }

// +kubebuilder:object:root=true

// AnalysisRunList is a list of AnalysisRuns.
type AnalysisRunList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AnalysisRun `json:"items"`
}

func init() {
	SchemeBuilder.Register(&AnalysisTemplate{}, &AnalysisTemplateList{},
		&ClusterAnalysisTemplate{}, &ClusterAnalysisTemplateList{},
		&AnalysisRun{}, &AnalysisRunList{})
}
