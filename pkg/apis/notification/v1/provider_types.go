package v1

import (
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ProviderKind is the kind name of Provider objects.
const ProviderKind string = "Provider"

// DefaultProviderTimeout bounds one delivery to a Provider when spec.timeout
// is not set.
const DefaultProviderTimeout = 15 * time.Second

// Provider types Ferry implements. The first group posts a message for each
// event; the Git hosts set a commit status on the revision the event names.
const (
	// GenericProvider POSTs the event as JSON to the address.
	GenericProvider string = "generic"

	// GenericHMACProvider POSTs the event as JSON with an X-Signature header
	// holding an HMAC of the body keyed with the Secret's token.
	GenericHMACProvider string = "generic-hmac"

	// SlackProvider posts a Slack message, to the chat.postMessage API with a
	// bot token or to an incoming webhook address.
	SlackProvider string = "slack"

	// MSTeamsProvider posts to a Microsoft Teams workflow or connector
	// webhook.
	MSTeamsProvider string = "msteams"

	// DiscordProvider posts a Slack-compatible message to a Discord webhook.
	DiscordProvider string = "discord"

	// GoogleChatProvider posts a card message to a Google Chat webhook.
	GoogleChatProvider string = "googlechat"

	// RocketProvider posts a Slack-compatible message to a Rocket.Chat
	// webhook.
	RocketProvider string = "rocket"

	// TelegramProvider sends a message through the Telegram Bot API to the
	// chat named in channel.
	TelegramProvider string = "telegram"

	// AlertManagerProvider sends the event as a firing alert to the
	// Prometheus Alertmanager API.
	AlertManagerProvider string = "alertmanager"

	// GrafanaProvider writes the event as a Grafana annotation.
	GrafanaProvider string = "grafana"

	// GitHubProvider sets a commit status on a GitHub repository.
	GitHubProvider string = "github"

	// GitLabProvider sets a commit status on a GitLab project.
	GitLabProvider string = "gitlab"

	// GiteaProvider sets a commit status on a Gitea repository.
	GiteaProvider string = "gitea"

	// BitbucketProvider sets a build status on a Bitbucket Cloud repository.
	BitbucketProvider string = "bitbucket"

	// BitbucketServerProvider sets a build status on a Bitbucket Server or
	// Data Center repository.
	BitbucketServerProvider string = "bitbucketserver"

	// AzureDevOpsProvider sets a commit status on an Azure DevOps
	// repository.
	AzureDevOpsProvider string = "azuredevops"

	// GitHubDispatchProvider sends a repository_dispatch event to a GitHub
	// repository, so a workflow can run on Flux events.
	GitHubDispatchProvider string = "githubdispatch"

	// PagerDutyProvider triggers an incident for error events and resolves
	// it (and records a change) for info events, through the Events API v2.
	PagerDutyProvider string = "pagerduty"

	// OpsgenieProvider creates an Opsgenie alert.
	OpsgenieProvider string = "opsgenie"

	// DataDogProvider posts a Datadog event.
	DataDogProvider string = "datadog"

	// WebexProvider posts a Markdown message to a Webex room.
	WebexProvider string = "webex"

	// SentryProvider reports error events as Sentry errors and info events
	// as transactions, to the project the DSN in the address names.
	SentryProvider string = "sentry"

	// MatrixProvider posts a text message to a Matrix room.
	MatrixProvider string = "matrix"

	// LarkProvider posts a card message to a Lark (Feishu) webhook.
	LarkProvider string = "lark"

	// ZulipProvider posts a message to a Zulip stream and topic.
	ZulipProvider string = "zulip"

	// NATSProvider publishes the event as JSON on a NATS subject.
	NATSProvider string = "nats"
)

// ProviderSpec says where notifications go and how to authenticate there.
type ProviderSpec struct {
	// type of the Provider, which decides the payload and the API spoken.
	// +kubebuilder:validation:Enum=slack;discord;msteams;rocket;generic;generic-hmac;github;gitlab;gitea;bitbucket;googlechat;telegram;alertmanager;grafana;bitbucketserver;azuredevops;githubdispatch;pagerduty;opsgenie;datadog;webex;sentry;matrix;lark;zulip;nats
	// +required
	Type string `json:"type"`

	// interval is accepted so manifests written for Flux still apply, and
	// ignored: a Provider is not reconciled on a timer.
	//
	// Deprecated: has no effect.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// channel to post to, where the type has one (e.g. a Slack channel or a
	// Telegram chat).
	// +kubebuilder:validation:MaxLength:=2048
	// +optional
	Channel string `json:"channel,omitempty"`

	// username to post as, where the type supports it; the Secret's
	// "username" key overrides it.
	// +kubebuilder:validation:MaxLength:=2048
	// +optional
	Username string `json:"username,omitempty"`

	// address the notifications go to; its meaning depends on the type (a
	// webhook URL, an API endpoint, a repository URL). The Secret's
	// "address" key overrides it; put it there when it embeds a credential.
	// +kubebuilder:validation:MaxLength:=2048
	// +optional
	Address string `json:"address,omitempty"`

	// timeout of one delivery to the Provider, 15s when unset.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// proxy is the http(s) URL of a proxy to send through.
	//
	// Deprecated: use proxySecretRef, which keeps proxy credentials out of
	// the spec.
	// +kubebuilder:validation:Pattern="^(http|https)://.*$"
	// +kubebuilder:validation:MaxLength:=2048
	// +optional
	Proxy string `json:"proxy,omitempty"`

	// proxySecretRef names a Secret in the Provider's namespace with the
	// proxy to send through: an "address" key and optional "username" and
	// "password" keys.
	// +optional
	ProxySecretRef *fluxmeta.LocalObjectReference `json:"proxySecretRef,omitempty"`

	// secretRef names a Secret in the Provider's namespace with the
	// Provider's credentials and overrides, e.g. "token", "address",
	// "username", "password", "headers".
	// +optional
	SecretRef *fluxmeta.LocalObjectReference `json:"secretRef,omitempty"`

	// certSecretRef names a Secret in the Provider's namespace with TLS
	// material: "ca.crt" to trust a private CA, and "tls.crt" with "tls.key"
	// for a client certificate.
	// +optional
	CertSecretRef *fluxmeta.LocalObjectReference `json:"certSecretRef,omitempty"`

	// suspend stops deliveries to this Provider while true.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description=""

// Provider is a destination for notifications: a chat, a webhook, an alert
// manager or a Git host's commit status API.
type Provider struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the destination and how to reach it.
	// +required
	Spec ProviderSpec `json:"spec"`
}

// GetTimeout returns the time allowed for one delivery: spec.timeout, or
// DefaultProviderTimeout when it is unset.
func (in *Provider) GetTimeout() time.Duration {
	if in.Spec.Timeout != nil {
		return in.Spec.Timeout.Duration
	}
	return DefaultProviderTimeout
}

// +kubebuilder:object:root=true

// ProviderList is a list of Providers.
type ProviderList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the Providers in the list.
	// +required
	Items []Provider `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Provider{}, &ProviderList{})
}
