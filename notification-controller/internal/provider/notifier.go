// Package provider turns a Flux event into the request each notification
// service expects: a chat message (Slack, Teams, Discord, Google Chat,
// Rocket.Chat, Telegram, Webex, Matrix, Lark, Zulip), an alert or incident
// (Alertmanager, PagerDuty, Opsgenie, Datadog, Sentry), an annotation
// (Grafana), a signed or plain JSON webhook, a NATS message, a GitHub
// repository dispatch, or a commit status on a Git host (GitHub, GitLab,
// Gitea, Bitbucket Cloud and Server, Azure DevOps).
//
// The payloads are small structs written here rather than pulled from each
// vendor's SDK: every service needs one POST, the SDKs would add megabytes
// and their own retry loops, and the dispatcher already owns retries, timeouts
// and backoff. NATS is the exception: its wire protocol is not HTTP, so it
// uses the NATS project's own client. Errors never carry the address, token
// or password, because they end up in logs.
package provider

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
)

// Notifier delivers one event to one service.
type Notifier interface {
	// Post sends the event; it returns a *StatusError for an HTTP answer
	// outside 2xx, so the caller can tell what is worth retrying.
	Post(ctx context.Context, event eventv1.Event) error
}

// Config is everything a notifier needs, resolved from a Provider and the
// Secrets it names.
type Config struct {
	// Type is the Provider's spec.type.
	Type string
	// Address is the service endpoint; its meaning depends on the type.
	Address string
	// Channel is the chat, room or channel to post to, where the type has one.
	Channel string
	// Username is the name to post as, or the basic-auth user.
	Username string
	// Token authenticates to the service, or keys the HMAC of generic-hmac.
	Token string
	// Password is the basic-auth password.
	Password string
	// Headers are added to generic and generic-hmac requests.
	Headers map[string]string
	// Proxy, when set, is used for every request instead of the environment.
	Proxy *url.URL
	// TLS, when set, holds a private CA and/or client certificate.
	TLS *tls.Config
	// Timeout bounds one request.
	Timeout time.Duration
	// ProviderUID makes commit status contexts unique per Provider, as Flux
	// does, so statuses written under Flux keep being updated.
	ProviderUID string
}

// New builds the notifier for cfg.Type. It fails on an unknown type or a
// configuration the type cannot work with (no address, no token where one is
// needed), so those problems surface before any event is sent.
func New(cfg Config) (Notifier, error) {
	client := newHTTPClient(cfg)
	switch cfg.Type {
	case notificationv1.GenericProvider:
		return newGeneric(cfg, client, false)
	case notificationv1.GenericHMACProvider:
		return newGeneric(cfg, client, true)
	case notificationv1.SlackProvider:
		return newSlack(cfg, client)
	case notificationv1.DiscordProvider:
		return newDiscord(cfg, client)
	case notificationv1.RocketProvider:
		return newRocket(cfg, client)
	case notificationv1.MSTeamsProvider:
		return newMSTeams(cfg, client)
	case notificationv1.GoogleChatProvider:
		return newGoogleChat(cfg, client)
	case notificationv1.TelegramProvider:
		return newTelegram(cfg, client)
	case notificationv1.AlertManagerProvider:
		return newAlertmanager(cfg, client)
	case notificationv1.GrafanaProvider:
		return newGrafana(cfg, client)
	case notificationv1.GitHubProvider:
		return newGitHub(cfg, client)
	case notificationv1.GitLabProvider:
		return newGitLab(cfg, client)
	case notificationv1.GiteaProvider:
		return newGitea(cfg, client)
	case notificationv1.BitbucketProvider:
		return newBitbucket(cfg, client)
	case notificationv1.BitbucketServerProvider:
		return newBitbucketServer(cfg, client)
	case notificationv1.AzureDevOpsProvider:
		return newAzureDevOps(cfg, client)
	case notificationv1.GitHubDispatchProvider:
		return newGitHubDispatch(cfg, client)
	case notificationv1.PagerDutyProvider:
		return newPagerDuty(cfg, client)
	case notificationv1.OpsgenieProvider:
		return newOpsgenie(cfg, client)
	case notificationv1.DataDogProvider:
		return newDataDog(cfg, client)
	case notificationv1.SentryProvider:
		return newSentry(cfg, client)
	case notificationv1.WebexProvider:
		return newWebex(cfg, client)
	case notificationv1.MatrixProvider:
		return newMatrix(cfg, client)
	case notificationv1.LarkProvider:
		return newLark(cfg, client)
	case notificationv1.ZulipProvider:
		return newZulip(cfg, client)
	case notificationv1.NATSProvider:
		return newNATS(cfg)
	default:
		return nil, fmt.Errorf("unsupported provider type %q", cfg.Type)
	}
}

// requireAddress parses the address every HTTP notifier needs. The error
// names the field, never the value, which may embed a credential.
func requireAddress(cfg Config) (*url.URL, error) {
	if cfg.Address == "" {
		return nil, fmt.Errorf("%s provider needs an address: set spec.address or the 'address' key of spec.secretRef", cfg.Type)
	}
	u, err := url.Parse(cfg.Address)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s provider address is not an http(s) URL", cfg.Type)
	}
	return u, nil
}
