package v1

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ReceiverKind is the kind name of Receiver objects.
const ReceiverKind string = "Receiver"

// ReceiverWebhookPath is the prefix of every Receiver's webhook path.
const ReceiverWebhookPath string = "/hook/"

// DefaultReceiverInterval is how often a Receiver is reconciled when
// spec.interval is not set; it matches the CRD default.
const DefaultReceiverInterval = 10 * time.Minute

// Receiver types: each decides how an incoming request is authenticated and
// how its event type is read.
const (
	// GenericReceiver accepts any request to the webhook path; the secret
	// path is the only protection.
	GenericReceiver string = "generic"

	// GenericHMACReceiver checks the X-Signature header, an HMAC of the body
	// keyed with the token.
	GenericHMACReceiver string = "generic-hmac"

	// GitHubReceiver checks GitHub's (and Gitea's) X-Hub-Signature HMAC and
	// filters on the X-GitHub-Event header.
	GitHubReceiver string = "github"

	// GitLabReceiver compares the X-Gitlab-Token header with the token and
	// filters on the X-Gitlab-Event header.
	GitLabReceiver string = "gitlab"

	// BitbucketReceiver checks Bitbucket Server's X-Hub-Signature HMAC and
	// filters on the X-Event-Key header.
	BitbucketReceiver string = "bitbucket"

	// HarborReceiver compares the Authorization header with the token.
	HarborReceiver string = "harbor"

	// DockerHubReceiver accepts a request whose body is a DockerHub webhook
	// payload.
	DockerHubReceiver string = "dockerhub"

	// QuayReceiver accepts a request whose body is a Quay repository push
	// notification.
	QuayReceiver string = "quay"

	// NexusReceiver checks Nexus Repository Manager's
	// X-Nexus-Webhook-Signature, an HMAC-SHA1 of the body keyed with the
	// token.
	NexusReceiver string = "nexus"

	// ACRReceiver accepts a request whose body is an Azure Container
	// Registry webhook payload.
	ACRReceiver string = "acr"

	// GCRReceiver checks the Google-signed OIDC token a Pub/Sub push
	// subscription sends for Google Container (Artifact) Registry
	// notifications: the Secret's "audience" must be its audience and
	// "email" its verified service account email.
	GCRReceiver string = "gcr"

	// CDEventsReceiver accepts a request whose body is a CDEvent (a
	// CloudEvent of a dev.cdevents type) and filters on its Ce-Type header.
	CDEventsReceiver string = "cdevents"
)

// ReceiverSpec is what a Receiver asks for: which webhook sender to accept and
// which objects to reconcile when a request passes its checks.
type ReceiverSpec struct {
	// type of the webhook sender; it selects how a request is verified and
	// how its event type is read.
	// +kubebuilder:validation:Enum=generic;generic-hmac;github;gitlab;bitbucket;harbor;dockerhub;quay;nexus;acr;gcr;cdevents
	// +required
	Type string `json:"type"`

	// interval at which the Receiver is reconciled, which re-reads its
	// Secret and refreshes the webhook path.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +kubebuilder:default:="10m"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// events the Receiver acts on, e.g. "push" for GitHub or "Push Hook" for
	// GitLab; empty means every event. Only types that carry an event type
	// (github, gitlab, bitbucket, cdevents) filter on it.
	// +optional
	Events []string `json:"events,omitempty"`

	// resources to reconcile when a request is accepted.
	// +required
	Resources []CrossNamespaceObjectReference `json:"resources"`

	// secretRef names a Secret in the Receiver's namespace whose "token" key
	// salts the webhook path and, depending on the type, verifies requests.
	// +required
	SecretRef fluxmeta.LocalObjectReference `json:"secretRef"`

	// suspend stops the Receiver from being reconciled and from handling
	// requests while true.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// ReceiverStatus is what the notification-controller last observed about a
// Receiver.
type ReceiverStatus struct {
	fluxmeta.ReconcileRequestStatus `json:",inline"`

	// conditions of the Receiver: Ready, and Reconciling or Stalled while
	// they are true.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// webhookPath is the path the Receiver listens on:
	// /hook/<hex sha256 of token+name+namespace>.
	// +optional
	WebhookPath string `json:"webhookPath,omitempty"`

	// observedGeneration is the generation whose reconcile last finished.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description=""
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status",description=""
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message",description=""

// Receiver turns authenticated webhook calls (from a Git host or an image
// registry) into reconcile requests for the objects it lists.
type Receiver struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired behaviour of the Receiver.
	// +required
	Spec ReceiverSpec `json:"spec"`

	// status is the observed state of the Receiver.
	// +kubebuilder:default:={"observedGeneration":-1}
	// +optional
	Status ReceiverStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions, for the conditions helpers.
func (in *Receiver) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions, for the conditions helpers.
func (in *Receiver) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns how long to wait before the next reconcile:
// spec.interval, or DefaultReceiverInterval when it is unset (e.g. for an
// object built in Go that never went through the API server's defaulting).
func (in *Receiver) GetRequeueAfter() time.Duration {
	if in.Spec.Interval != nil {
		return in.Spec.Interval.Duration
	}
	return DefaultReceiverInterval
}

// GetWebhookPath returns the path the Receiver listens on for the given
// token. Hashing the token together with the name and namespace keeps the path
// unguessable and unique per Receiver, and computing it the same way as Flux
// keeps webhooks configured under Flux working.
func (in *Receiver) GetWebhookPath(token string) string {
	sum := sha256.Sum256([]byte(token + in.GetName() + in.GetNamespace()))
	return ReceiverWebhookPath + hex.EncodeToString(sum[:])
}

// +kubebuilder:object:root=true

// ReceiverList is a list of Receivers.
type ReceiverList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the Receivers in the list.
	// +required
	Items []Receiver `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Receiver{}, &ReceiverList{})
}

// GetReconcileRequestStatus returns the status part that records the last
// handled reconcile.fluxcd.io/requestedAt value.
func (in *Receiver) GetReconcileRequestStatus() *fluxmeta.ReconcileRequestStatus {
	return &in.Status.ReconcileRequestStatus
}
