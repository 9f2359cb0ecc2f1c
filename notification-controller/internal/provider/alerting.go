package provider

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	fluxmeta "github.com/fluxcd/pkg/apis/meta"
)

// The incident services' public endpoints, used when the Provider has no
// address.
const (
	pagerDutyAPI = "https://events.pagerduty.com"
	opsgenieAPI  = "https://api.opsgenie.com/v2/alerts"
	dataDogAPI   = "https://api.datadoghq.com"
)

// addressOr returns cfg with address set to def when the Provider has none.
func addressOr(cfg Config, def string) Config {
	if cfg.Address == "" {
		cfg.Address = def
	}
	return cfg
}

// pagerDuty speaks the Events API v2: an error event triggers an incident
// keyed by the object's UID, an info event resolves that incident and is
// recorded as a change event, as Flux does, so an incident closes itself when
// the object recovers. The routing (integration) key is spec.channel.
type pagerDuty struct {
	client     *http.Client
	base       *url.URL
	routingKey string
}

func newPagerDuty(cfg Config, client *http.Client) (Notifier, error) {
	u, err := requireAddress(addressOr(cfg, pagerDutyAPI))
	if err != nil {
		return nil, err
	}
	if cfg.Channel == "" {
		return nil, errors.New("pagerduty provider needs the integration (routing) key in spec.channel")
	}
	return &pagerDuty{client: client, base: &url.URL{Scheme: u.Scheme, Host: u.Host}, routingKey: cfg.Channel}, nil
}

type pagerDutyEvent struct {
	RoutingKey  string            `json:"routing_key"`
	EventAction string            `json:"event_action"`
	DedupKey    string            `json:"dedup_key"`
	Payload     *pagerDutyPayload `json:"payload,omitempty"`
}

type pagerDutyPayload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity,omitempty"`
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

type pagerDutyChange struct {
	RoutingKey string           `json:"routing_key"`
	Payload    pagerDutyPayload `json:"payload"`
}

// Post sends the trigger or resolve, then for info events the change event.
// Progressing events are skipped: an incident is about success or failure.
func (p *pagerDuty) Post(ctx context.Context, e eventv1.Event) error {
	if e.Reason == fluxmeta.ProgressingReason {
		return nil
	}
	payload := pagerDutyPayload{
		Summary:       truncate(headline(e), 1024),
		Source:        "Flux " + e.ReportingController,
		Timestamp:     e.Timestamp.UTC().Format(time.RFC3339),
		CustomDetails: map[string]any{"message": e.Message, "metadata": e.Metadata},
	}
	ev := pagerDutyEvent{RoutingKey: p.routingKey, EventAction: "resolve", DedupKey: dedupKey(e)}
	if isError(e) {
		trigger := payload
		trigger.Severity, trigger.Component, trigger.Group = "error", e.InvolvedObject.Name, e.InvolvedObject.Kind
		ev.EventAction, ev.Payload = "trigger", &trigger
	}
	if err := do(ctx, p.client, request{url: p.base.JoinPath("v2", "enqueue"), body: ev}); err != nil {
		return err
	}
	if isError(e) {
		return nil
	}
	return do(ctx, p.client, request{url: p.base.JoinPath("v2", "change", "enqueue"),
		body: pagerDutyChange{RoutingKey: p.routingKey, Payload: payload}})
}

// dedupKey identifies the object an incident is about: its UID, or its kind,
// namespace and name for an event that carries no UID.
func dedupKey(e eventv1.Event) string {
	if e.InvolvedObject.UID != "" {
		return string(e.InvolvedObject.UID)
	}
	return e.InvolvedObject.Kind + "/" + e.InvolvedObject.Namespace + "/" + e.InvolvedObject.Name
}

// opsgenie creates an alert through the Alert API with the API key from the
// Secret's token ("GenieKey" authorization).
type opsgenie struct {
	client *http.Client
	url    *url.URL
	key    string
}

func newOpsgenie(cfg Config, client *http.Client) (Notifier, error) {
	u, err := requireAddress(addressOr(cfg, opsgenieAPI))
	if err != nil {
		return nil, err
	}
	if err := requireToken(cfg); err != nil {
		return nil, err
	}
	return &opsgenie{client: client, url: u, key: cfg.Token}, nil
}

type opsgenieAlert struct {
	Message     string            `json:"message"`
	Description string            `json:"description"`
	Details     map[string]string `json:"details"`
}

// Post creates the alert: the object as the message, the event message as
// the description, the metadata and severity as details, as Flux sends it.
func (o *opsgenie) Post(ctx context.Context, e eventv1.Event) error {
	details := make(map[string]string, len(e.Metadata)+1)
	for k, v := range e.Metadata {
		details[k] = v
	}
	details["severity"] = e.Severity
	alert := opsgenieAlert{
		Message:     truncate(e.InvolvedObject.Kind+"/"+e.InvolvedObject.Name, 130),
		Description: truncate(e.Message, 15000),
		Details:     details,
	}
	return do(ctx, o.client, request{url: o.url, body: alert,
		headers: map[string]string{"Authorization": "GenieKey " + o.key}})
}

// dataDog posts to the Events API (/api/v1/events of the site in the
// address) with the API key from the Secret's token.
type dataDog struct {
	client *http.Client
	url    *url.URL
	key    string
}

func newDataDog(cfg Config, client *http.Client) (Notifier, error) {
	u, err := requireAddress(addressOr(cfg, dataDogAPI))
	if err != nil {
		return nil, err
	}
	if err := requireToken(cfg); err != nil {
		return nil, err
	}
	site := &url.URL{Scheme: u.Scheme, Host: u.Host}
	return &dataDog{client: client, url: site.JoinPath("api", "v1", "events"), key: cfg.Token}, nil
}

type dataDogEvent struct {
	Title          string   `json:"title"`
	Text           string   `json:"text"`
	Tags           []string `json:"tags"`
	SourceTypeName string   `json:"source_type_name"`
	DateHappened   int64    `json:"date_happened"`
	AlertType      string   `json:"alert_type"`
}

// Post sends the event with the tags Datadog's Kubernetes integration uses
// (kube_kind, kube_name, kube_namespace), lowercased as Datadog stores tags,
// and source "fluxcd", the name of Datadog's Flux integration.
func (d *dataDog) Post(ctx context.Context, e eventv1.Event) error {
	tags := []string{
		"flux_reporting_controller:" + e.ReportingController,
		"flux_reason:" + e.Reason,
		"kube_kind:" + e.InvolvedObject.Kind,
		"kube_name:" + e.InvolvedObject.Name,
		"kube_namespace:" + e.InvolvedObject.Namespace,
	}
	for _, m := range metadata(e) {
		tags = append(tags, m.key+":"+m.value)
	}
	for i := range tags {
		tags[i] = strings.ToLower(tags[i])
	}
	alertType := "info"
	if isError(e) {
		alertType = "error"
	}
	ev := dataDogEvent{
		Title:          "Events from the " + e.InvolvedObject.Kind + " " + e.InvolvedObject.Name + "/" + e.InvolvedObject.Namespace,
		Text:           truncate(e.Message, 4000),
		Tags:           tags,
		SourceTypeName: "fluxcd",
		DateHappened:   e.Timestamp.Unix(),
		AlertType:      alertType,
	}
	return do(ctx, d.client, request{url: d.url, body: ev, headers: map[string]string{"DD-API-KEY": d.key}})
}
