package provider

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// alertmanager posts the event as one firing alert to Alertmanager's
// /api/v2/alerts. Basic-auth credentials may sit in the address; a token is
// sent as a bearer token.
type alertmanager struct {
	client *http.Client
	url    *url.URL
	token  string
}

func newAlertmanager(cfg Config, client *http.Client) (Notifier, error) {
	u, err := requireAddress(cfg)
	if err != nil {
		return nil, err
	}
	return &alertmanager{client: client, url: u, token: cfg.Token}, nil
}

// postableAlert is one entry of the v2 API's request body.
type postableAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    string            `json:"startsAt,omitempty"`
}

// Post sends the alert. Labels identify it (alertname, severity, object,
// reason and the metadata), annotations carry the message and summary, as
// Flux's provider does, so existing routes and inhibitions keep matching.
func (a *alertmanager) Post(ctx context.Context, e eventv1.Event) error {
	labels := map[string]string{}
	annotations := map[string]string{"message": e.Message}
	for _, m := range metadata(e) {
		if m.key == "summary" {
			annotations["summary"] = m.value
			continue
		}
		labels[labelName(m.key)] = m.value
	}
	labels["alertname"] = "Flux" + e.InvolvedObject.Kind + e.Reason
	labels["severity"] = e.Severity
	labels["reason"] = e.Reason
	labels["kind"] = e.InvolvedObject.Kind
	labels["name"] = e.InvolvedObject.Name
	labels["namespace"] = e.InvolvedObject.Namespace
	labels["reportingController"] = e.ReportingController
	alert := postableAlert{Labels: labels, Annotations: annotations}
	if !e.Timestamp.IsZero() {
		alert.StartsAt = e.Timestamp.UTC().Format(time.RFC3339)
	}
	r := request{url: a.url, body: []postableAlert{alert}}
	if a.token != "" {
		r.headers = map[string]string{"Authorization": "Bearer " + a.token}
	}
	return do(ctx, a.client, r)
}

// labelName makes a metadata key a valid Prometheus label name
// ([a-zA-Z_][a-zA-Z0-9_]*), which Alertmanager's API insists on.
func labelName(key string) string {
	var b strings.Builder
	for i, r := range key {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', i > 0 && r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}
