package v1alpha1

import (
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// RolloutKind is the kind name.
const RolloutKind = "Rollout"

// DefaultRolloutUniqueLabelKey is the label Argo Rollouts puts on every
// ReplicaSet and Pod of a Rollout, and on the selectors of its Services,
// with the pod-template hash as value.
const DefaultRolloutUniqueLabelKey = "rollouts-pod-template-hash"

// GatewayAPIPluginName is the key of spec.strategy.canary.trafficRouting.plugins
// that configures Argo Rollouts' Gateway API plugin; it is the only plugin
// Ferry implements.
const GatewayAPIPluginName = "argoproj-labs/gatewayAPI"

// RolloutPhase is the phase Argo Rollouts reports in status.phase.
// +kubebuilder:validation:Enum=Healthy;Progressing;Paused;Degraded
type RolloutPhase string

const (
	// RolloutPhaseHealthy: the rollout is done, every replica is updated
	// and available.
	RolloutPhaseHealthy RolloutPhase = "Healthy"
	// RolloutPhaseProgressing: the rollout is moving through its steps or
	// waiting for replicas to become available.
	RolloutPhaseProgressing RolloutPhase = "Progressing"
	// RolloutPhasePaused: a pause step, spec.paused or an inconclusive
	// analysis holds the rollout.
	RolloutPhasePaused RolloutPhase = "Paused"
	// RolloutPhaseDegraded: the rollout was aborted or missed its progress
	// deadline.
	RolloutPhaseDegraded RolloutPhase = "Degraded"
)

// PauseReason says why the controller paused a rollout
// (status.pauseConditions[].reason), with Argo Rollouts' values.
// +kubebuilder:validation:Enum=CanaryPauseStep;BlueGreenPause;InconclusiveAnalysisRun
type PauseReason string

const (
	// PauseReasonCanaryPauseStep: a canary pause step is running.
	PauseReasonCanaryPauseStep PauseReason = "CanaryPauseStep"
	// PauseReasonBlueGreenPause: a blue-green rollout waits for promotion.
	PauseReasonBlueGreenPause PauseReason = "BlueGreenPause"
	// PauseReasonInconclusiveAnalysis: an analysis was inconclusive.
	PauseReasonInconclusiveAnalysis PauseReason = "InconclusiveAnalysisRun"
)

// Condition types of a Rollout besides Ferry's Ready, as Argo Rollouts
// names them.
const (
	// RolloutProgressing is True while a rollout makes progress or is done,
	// False when it missed its deadline or was aborted.
	RolloutProgressing = "Progressing"
	// RolloutAvailable is True when at least the minimum of replicas is
	// available.
	RolloutAvailable = "Available"
	// RolloutPaused is True while the rollout is paused.
	RolloutPaused = "Paused"
	// RolloutHealthy is True when the rollout is fully promoted and every
	// replica is available.
	RolloutHealthy = "Healthy"
	// RolloutCompleted is True when every replica runs the current template.
	RolloutCompleted = "Completed"
	// RolloutInvalidSpec is True while the spec cannot be acted on.
	RolloutInvalidSpec = "InvalidSpec"
	// RolloutReplicaFailure is True when a ReplicaSet cannot be created or
	// scaled.
	RolloutReplicaFailure = "ReplicaFailure"
)

// RolloutSpec is the desired state of a Rollout.
// +kubebuilder:validation:XValidation:rule="has(self.template) != has(self.workloadRef)",message="exactly one of template and workloadRef must be set"
type RolloutSpec struct {
	// replicas is the number of desired pods; 1 when unset.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// selector is the label query over the rollout's pods; it must match
	// the template's labels. With workloadRef it may be left out and the
	// Deployment's selector is used.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`

	// template describes the pods to create. Exactly one of template and
	// workloadRef is set.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +optional
	Template *corev1.PodTemplateSpec `json:"template,omitempty"`

	// workloadRef names a Deployment in the rollout's namespace whose pod
	// template (and selector, when spec.selector is unset) the rollout uses;
	// the Deployment is scaled to zero so that only the rollout's pods run.
	// +optional
	WorkloadRef *ObjectRef `json:"workloadRef,omitempty"`

	// minReadySeconds is how long a new pod must be ready, without any of
	// its containers crashing, to count as available.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MinReadySeconds int32 `json:"minReadySeconds,omitempty"`

	// revisionHistoryLimit is how many old, scaled-down ReplicaSets are kept
	// for rollback; 10 when unset.
	// +kubebuilder:validation:Minimum=0
	// +optional
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty"`

	// paused stops the rollout where it is until set back to false.
	// +optional
	Paused bool `json:"paused,omitempty"`

	// progressDeadlineSeconds is how long a rollout may make no progress
	// before it is reported Degraded; 600 when unset.
	// +kubebuilder:validation:Minimum=1
	// +optional
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`

	// strategy says how a new template replaces the running one.
	// +optional
	Strategy RolloutStrategy `json:"strategy,omitempty"`
}

// ObjectRef names the workload whose template a Rollout uses.
type ObjectRef struct {
	// apiVersion of the workload; apps/v1.
	// +kubebuilder:validation:Enum=apps/v1
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// kind of the workload; only Deployment.
	// +kubebuilder:validation:Enum=Deployment
	// +required
	Kind string `json:"kind"`

	// name of the workload in the rollout's namespace.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`
}

// RolloutStrategy holds one of canary and blueGreen.
// +kubebuilder:validation:XValidation:rule="!(has(self.canary) && has(self.blueGreen))",message="only one of canary and blueGreen may be set"
type RolloutStrategy struct {
	// blueGreen runs the new version next to the old one behind a preview
	// Service and switches the active Service over at once.
	// +optional
	BlueGreen *BlueGreenStrategy `json:"blueGreen,omitempty"`

	// canary shifts traffic to the new version in steps.
	// +optional
	Canary *CanaryStrategy `json:"canary,omitempty"`
}

// BlueGreenStrategy is Argo Rollouts' blue-green strategy.
type BlueGreenStrategy struct {
	// activeService is the Service whose selector is switched to the
	// promoted ReplicaSet.
	// +kubebuilder:validation:MinLength=1
	// +required
	ActiveService string `json:"activeService"`

	// previewService is the Service whose selector points at the new
	// ReplicaSet before promotion.
	// +optional
	PreviewService string `json:"previewService,omitempty"`

	// previewReplicaCount is how many replicas the new ReplicaSet runs
	// before promotion; all of spec.replicas when unset.
	// +kubebuilder:validation:Minimum=0
	// +optional
	PreviewReplicaCount *int32 `json:"previewReplicaCount,omitempty"`

	// autoPromotionEnabled promotes the new ReplicaSet as soon as it is
	// available; true when unset. When false the rollout pauses until
	// promoted.
	// +optional
	AutoPromotionEnabled *bool `json:"autoPromotionEnabled,omitempty"`

	// autoPromotionSeconds promotes a paused rollout after this many
	// seconds.
	// +kubebuilder:validation:Minimum=0
	// +optional
	AutoPromotionSeconds int32 `json:"autoPromotionSeconds,omitempty"`

	// scaleDownDelaySeconds is how long the old ReplicaSet keeps running
	// after the switch; 30 when unset.
	// +kubebuilder:validation:Minimum=0
	// +optional
	ScaleDownDelaySeconds *int32 `json:"scaleDownDelaySeconds,omitempty"`

	// prePromotionAnalysis must succeed before the active Service is
	// switched.
	// +optional
	PrePromotionAnalysis *RolloutAnalysis `json:"prePromotionAnalysis,omitempty"`

	// postPromotionAnalysis runs after the switch; if it fails the active
	// Service is switched back.
	// +optional
	PostPromotionAnalysis *RolloutAnalysis `json:"postPromotionAnalysis,omitempty"`
}

// CanaryStrategy is Argo Rollouts' canary strategy.
type CanaryStrategy struct {
	// canaryService is the Service whose selector is pointed at the canary
	// ReplicaSet.
	// +optional
	CanaryService string `json:"canaryService,omitempty"`

	// stableService is the Service whose selector is pointed at the stable
	// ReplicaSet.
	// +optional
	StableService string `json:"stableService,omitempty"`

	// steps run in order for every new template; without steps the new
	// template is rolled out at once, as a rolling update.
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Steps []CanaryStep `json:"steps,omitempty"`

	// trafficRouting splits traffic by weight in a router instead of by
	// replica counts.
	// +optional
	TrafficRouting *RolloutTrafficRouting `json:"trafficRouting,omitempty"`

	// maxUnavailable is how many replicas may be unavailable during the
	// update, a number or a percentage of spec.replicas; 25% when unset.
	// +kubebuilder:validation:XIntOrString
	// +optional
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`

	// maxSurge is how many replicas may run above spec.replicas during the
	// update, a number or a percentage; 25% when unset.
	// +kubebuilder:validation:XIntOrString
	// +optional
	MaxSurge *intstr.IntOrString `json:"maxSurge,omitempty"`

	// analysis runs in the background from startingStep until the rollout
	// is done; its failure aborts the rollout.
	// +optional
	Analysis *RolloutAnalysisBackground `json:"analysis,omitempty"`
}

// CanaryStep is one step of a canary; exactly one field is set.
// +kubebuilder:validation:XValidation:rule="(has(self.setWeight) ? 1 : 0) + (has(self.pause) ? 1 : 0) + (has(self.setCanaryScale) ? 1 : 0) + (has(self.analysis) ? 1 : 0) == 1",message="a step sets exactly one of setWeight, pause, setCanaryScale and analysis"
type CanaryStep struct {
	// setWeight is the percentage of traffic (or, without traffic routing,
	// of replicas) the canary gets.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	SetWeight *int32 `json:"setWeight,omitempty"`

	// pause holds the rollout for a duration, or until promoted when the
	// duration is unset.
	// +optional
	Pause *RolloutPause `json:"pause,omitempty"`

	// setCanaryScale sets the canary's replica count apart from its
	// traffic weight.
	// +optional
	SetCanaryScale *SetCanaryScale `json:"setCanaryScale,omitempty"`

	// analysis runs the templates and holds the step until they succeed;
	// their failure aborts the rollout.
	// +optional
	Analysis *RolloutAnalysis `json:"analysis,omitempty"`
}

// RolloutPause is a pause step.
type RolloutPause struct {
	// duration is a number of seconds or a duration with a unit (s, m, h);
	// unset means until promoted. One that does not parse stalls the
	// rollout with InvalidSpec.
	// +kubebuilder:validation:XIntOrString
	// +optional
	Duration *intstr.IntOrString `json:"duration,omitempty"`
}

// DurationSeconds returns the pause's duration, and false for a pause
// without one (until promoted) or one that does not parse.
func (p *RolloutPause) DurationSeconds() (time.Duration, bool) {
	if p == nil || p.Duration == nil {
		return 0, false
	}
	if p.Duration.Type == intstr.Int {
		return time.Duration(p.Duration.IntVal) * time.Second, true
	}
	s := p.Duration.StrVal
	if s == "" {
		return 0, false
	}
	if last := s[len(s)-1]; last >= '0' && last <= '9' {
		s += "s"
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, false
	}
	return d, true
}

// SetCanaryScale sets the canary's scale independently of its weight.
type SetCanaryScale struct {
	// weight is the canary's replica count as a percentage of
	// spec.replicas.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	Weight *int32 `json:"weight,omitempty"`

	// replicas is the canary's replica count.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// matchTrafficWeight scales the canary to the current traffic weight
	// again.
	// +optional
	MatchTrafficWeight bool `json:"matchTrafficWeight,omitempty"`
}

// RolloutTrafficRouting configures how traffic is split by weight.
type RolloutTrafficRouting struct {
	// plugins configures traffic router plugins by name. Ferry serves
	// argoproj-labs/gatewayAPI; other plugins and fields are not in the
	// schema, so the API server refuses them rather than Ferry ignoring them.
	// +required
	Plugins TrafficRoutingPlugins `json:"plugins"`
}

// TrafficRoutingPlugins are the traffic router plugins Ferry serves, under
// the names Argo Rollouts' plugins register.
// +kubebuilder:validation:MinProperties=1
type TrafficRoutingPlugins struct {
	// argoproj-labs/gatewayAPI writes the weights into Gateway API
	// HTTPRoutes, configured as Argo Rollouts' Gateway API plugin is.
	// +optional
	GatewayAPI *GatewayAPITrafficRouting `json:"argoproj-labs/gatewayAPI,omitempty"`
}

// GatewayAPITrafficRouting is the Gateway API plugin's configuration, with
// the fields that apply to HTTP weights.
type GatewayAPITrafficRouting struct {
	// httpRoute is the name of one HTTPRoute.
	// +optional
	HTTPRoute string `json:"httpRoute,omitempty"`
	// httpRoutes names several HTTPRoutes, all given the same weights.
	// +optional
	HTTPRoutes []GatewayAPIHTTPRoute `json:"httpRoutes,omitempty"`
	// namespace of the routes; the rollout's when empty.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// GatewayAPIHTTPRoute is one entry of httpRoutes.
type GatewayAPIHTTPRoute struct {
	// name of the HTTPRoute.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// useHeaderRoutes marks the route for setHeaderRoute steps. Ferry
	// serves no such step, so it changes nothing; it is accepted so that
	// Argo Rollouts' manifests apply unchanged.
	// +optional
	UseHeaderRoutes bool `json:"useHeaderRoutes,omitempty"`
}

// RolloutAnalysis names the templates of an analysis and its arguments.
type RolloutAnalysis struct {
	// templates are merged into one AnalysisRun.
	// +optional
	Templates []AnalysisTemplateRef `json:"templates,omitempty"`

	// args are passed to the templates' arguments.
	// +optional
	Args []AnalysisRunArgument `json:"args,omitempty"`
}

// RolloutAnalysisBackground is an analysis that runs during the rollout.
type RolloutAnalysisBackground struct {
	RolloutAnalysis `json:",inline"`

	// startingStep is the index of the step at which the analysis starts;
	// 0 when unset.
	// +kubebuilder:validation:Minimum=0
	// +optional
	StartingStep *int32 `json:"startingStep,omitempty"`
}

// AnalysisTemplateRef names an AnalysisTemplate or ClusterAnalysisTemplate.
type AnalysisTemplateRef struct {
	// templateName is the template's name.
	// +kubebuilder:validation:MinLength=1
	// +required
	TemplateName string `json:"templateName"`

	// clusterScope names a ClusterAnalysisTemplate instead of an
	// AnalysisTemplate in the rollout's namespace.
	// +optional
	ClusterScope bool `json:"clusterScope,omitempty"`
}

// AnalysisRunArgument is an argument a rollout passes to an analysis.
type AnalysisRunArgument struct {
	// name of the template argument.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`

	// value is the argument's literal value.
	// +optional
	Value string `json:"value,omitempty"`

	// valueFrom takes the value from the rollout.
	// +optional
	ValueFrom *ArgumentValueFrom `json:"valueFrom,omitempty"`
}

// ValueFromPodTemplateHash says which ReplicaSet's pod-template hash an
// argument takes.
// +kubebuilder:validation:Enum=Stable;Latest
type ValueFromPodTemplateHash string

const (
	// Stable is the stable ReplicaSet's hash.
	Stable ValueFromPodTemplateHash = "Stable"
	// Latest is the newest ReplicaSet's hash.
	Latest ValueFromPodTemplateHash = "Latest"
)

// ArgumentValueFrom is where a rollout argument's value comes from.
type ArgumentValueFrom struct {
	// podTemplateHashValue takes the Stable or Latest pod-template hash.
	// +optional
	PodTemplateHashValue *ValueFromPodTemplateHash `json:"podTemplateHashValue,omitempty"`

	// fieldRef takes the value of a field of the rollout
	// (metadata.name, metadata.labels['x'], ...).
	// +optional
	FieldRef *FieldRef `json:"fieldRef,omitempty"`
}

// FieldRef names a field of the rollout.
type FieldRef struct {
	// fieldPath is the path of the field, as in the downward API.
	// +kubebuilder:validation:MinLength=1
	// +required
	FieldPath string `json:"fieldPath"`
}

// PauseCondition records why and since when the controller paused a
// rollout; promoting removes it.
type PauseCondition struct {
	// reason is why the rollout paused.
	// +required
	Reason PauseReason `json:"reason"`

	// startTime is when the pause began.
	// +required
	StartTime metav1.Time `json:"startTime"`
}

// RolloutAnalysisRunStatus is the state of an AnalysisRun a rollout
// started.
type RolloutAnalysisRunStatus struct {
	// name of the AnalysisRun.
	// +required
	Name string `json:"name"`

	// status is the AnalysisRun's phase.
	// +required
	Status AnalysisPhase `json:"status"`

	// message is the AnalysisRun's message.
	// +optional
	Message string `json:"message,omitempty"`
}

// WeightDestination is the traffic weight of one ReplicaSet.
type WeightDestination struct {
	// weight is the percentage of traffic.
	// +required
	Weight int32 `json:"weight"`

	// serviceName is the Service that routes to the ReplicaSet.
	// +optional
	ServiceName string `json:"serviceName,omitempty"`

	// podTemplateHash is the ReplicaSet's hash.
	// +optional
	PodTemplateHash string `json:"podTemplateHash,omitempty"`
}

// TrafficWeights are the weights last set in the traffic router.
type TrafficWeights struct {
	// canary is the canary's weight.
	// +required
	Canary WeightDestination `json:"canary"`

	// stable is the stable ReplicaSet's weight.
	// +required
	Stable WeightDestination `json:"stable"`

	// verified is whether the router was seen to apply the weights.
	// +optional
	Verified *bool `json:"verified,omitempty"`
}

// CanaryStatus is the state of a canary rollout.
type CanaryStatus struct {
	// currentStepAnalysisRunStatus is the AnalysisRun of the current
	// analysis step.
	// +optional
	CurrentStepAnalysisRunStatus *RolloutAnalysisRunStatus `json:"currentStepAnalysisRunStatus,omitempty"`

	// currentBackgroundAnalysisRunStatus is the background AnalysisRun.
	// +optional
	CurrentBackgroundAnalysisRunStatus *RolloutAnalysisRunStatus `json:"currentBackgroundAnalysisRunStatus,omitempty"`

	// weights are the traffic weights, with traffic routing.
	// +optional
	Weights *TrafficWeights `json:"weights,omitempty"`
}

// BlueGreenStatus is the state of a blue-green rollout.
type BlueGreenStatus struct {
	// previewSelector is the hash the preview Service selects.
	// +optional
	PreviewSelector string `json:"previewSelector,omitempty"`

	// activeSelector is the hash the active Service selects.
	// +optional
	ActiveSelector string `json:"activeSelector,omitempty"`

	// scaleUpPreviewCheckPoint is true once the preview ReplicaSet was
	// scaled up to full size for promotion.
	// +optional
	ScaleUpPreviewCheckPoint bool `json:"scaleUpPreviewCheckPoint,omitempty"`

	// prePromotionAnalysisRunStatus is the pre-promotion AnalysisRun.
	// +optional
	PrePromotionAnalysisRunStatus *RolloutAnalysisRunStatus `json:"prePromotionAnalysisRunStatus,omitempty"`

	// postPromotionAnalysisRunStatus is the post-promotion AnalysisRun.
	// +optional
	PostPromotionAnalysisRunStatus *RolloutAnalysisRunStatus `json:"postPromotionAnalysisRunStatus,omitempty"`
}

// RolloutStatus is the observed state of a Rollout, with Argo Rollouts'
// field names, plus Ferry's Ready condition.
type RolloutStatus struct {
	// abort is set (by a user, the CLI or a failed analysis) to abort the
	// update: the canary is scaled down and traffic returns to stable.
	// +optional
	Abort bool `json:"abort,omitempty"`

	// pauseConditions are the controller's reasons for the current pause;
	// removing them promotes past the pause.
	// +optional
	PauseConditions []PauseCondition `json:"pauseConditions,omitempty"`

	// controllerPause is true while the controller paused the rollout.
	// +optional
	ControllerPause bool `json:"controllerPause,omitempty"`

	// abortedAt is when the update was aborted.
	// +optional
	AbortedAt *metav1.Time `json:"abortedAt,omitempty"`

	// currentPodHash is the pod-template hash of the current template.
	// +optional
	CurrentPodHash string `json:"currentPodHash,omitempty"`

	// currentStepHash is the hash of the canary steps, so that a change of
	// the steps restarts them.
	// +optional
	CurrentStepHash string `json:"currentStepHash,omitempty"`

	// replicas is the number of pods of all the rollout's ReplicaSets.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`

	// updatedReplicas is the number of pods of the current template.
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas,omitempty"`

	// readyReplicas is the number of ready pods.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`

	// availableReplicas is the number of available pods.
	// +optional
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`

	// currentStepIndex is the index of the canary step being run; equal to
	// the number of steps when all are done.
	// +optional
	CurrentStepIndex *int32 `json:"currentStepIndex,omitempty"`

	// observedGeneration is the last generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// workloadObservedGeneration is the generation of the workloadRef's
	// Deployment whose template the status describes. A change of that
	// Deployment does not change the Rollout's generation, so health
	// checks compare this with the Deployment's to tell a status that has
	// not seen the change yet from one that has.
	// +optional
	WorkloadObservedGeneration int64 `json:"workloadObservedGeneration,omitempty"`

	// conditions are Argo Rollouts' Progressing, Available, Paused,
	// Healthy, Completed, InvalidSpec and ReplicaFailure, plus Ready
	// (with Reconciling and Stalled while true) for kstatus.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// canary is the state of a canary rollout.
	// +optional
	Canary CanaryStatus `json:"canary,omitempty"`

	// blueGreen is the state of a blue-green rollout.
	// +optional
	BlueGreen BlueGreenStatus `json:"blueGreen,omitempty"`

	// HPAReplicas is the number of pods selected by status.selector, the
	// scale subresource's status replicas.
	// +optional
	HPAReplicas int32 `json:"HPAReplicas,omitempty"`

	// selector is the serialized label selector of the rollout's pods, for
	// the scale subresource.
	// +optional
	Selector string `json:"selector,omitempty"`

	// stableRS is the pod-template hash of the stable ReplicaSet.
	// +optional
	StableRS string `json:"stableRS,omitempty"`

	// promoteFull is set to skip the remaining steps and analyses and
	// promote at once.
	// +optional
	PromoteFull bool `json:"promoteFull,omitempty"`

	// phase is Healthy, Progressing, Paused or Degraded.
	// +optional
	Phase RolloutPhase `json:"phase,omitempty"`

	// message says why the rollout is in its phase.
	// +optional
	Message string `json:"message,omitempty"`

	fluxmeta.ReconcileRequestStatus `json:",inline"`
}

// +genclient
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=ro,categories=all
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.HPAReplicas,selectorpath=.status.selector
// +kubebuilder:printcolumn:name="Desired",type="integer",JSONPath=".spec.replicas",description="Number of desired pods"
// +kubebuilder:printcolumn:name="Current",type="integer",JSONPath=".status.replicas",description="Total number of non-terminated pods targeted by this rollout"
// +kubebuilder:printcolumn:name="Up-to-date",type="integer",JSONPath=".status.updatedReplicas",description="Total number of non-terminated pods targeted by this rollout that have the desired template spec"
// +kubebuilder:printcolumn:name="Available",type="integer",JSONPath=".status.availableReplicas",description="Total number of available pods (ready for at least minReadySeconds) targeted by this rollout"
// +kubebuilder:printcolumn:name="Phase",type="string",JSONPath=".status.phase"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message",priority=1
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"

// Rollout replaces a Deployment with one that rolls a new pod template out
// by canary steps or blue-green, gated by metric analysis.
type Rollout struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   RolloutSpec   `json:"spec,omitempty"`
	Status RolloutStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions.
func (in *Rollout) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions replaces the status conditions.
func (in *Rollout) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// GetReconcileRequestStatus returns the handled reconcile request.
func (in *Rollout) GetReconcileRequestStatus() *fluxmeta.ReconcileRequestStatus {
	return &in.Status.ReconcileRequestStatus
}

// GetRequeueAfter is zero: a Rollout is reconciled when it or one of its
// ReplicaSets changes, and a timed step asks for its own requeue.
func (in *Rollout) GetRequeueAfter() time.Duration { return 0 }

// GetReplicas returns spec.replicas, 1 when unset.
func (in *Rollout) GetReplicas() int32 {
	if in.Spec.Replicas == nil {
		return 1
	}
	return *in.Spec.Replicas
}

// +kubebuilder:object:root=true

// RolloutList is a list of Rollouts.
type RolloutList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Rollout `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Rollout{}, &RolloutList{})
}
