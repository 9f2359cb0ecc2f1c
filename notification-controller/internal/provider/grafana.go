package provider

import (
	"context"
	"net/http"
	"net/url"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// grafana writes the event as an organisation-wide annotation through
// Grafana's /api/annotations, tagged so dashboards can query it.
type grafana struct {
	client *http.Client
	url    *url.URL
	token  string
	user   string
	pass   string
}

func newGrafana(cfg Config, client *http.Client) (Notifier, error) {
	u, err := requireAddress(cfg)
	if err != nil {
		return nil, err
	}
	return &grafana{client: client, url: u, token: cfg.Token, user: cfg.Username, pass: cfg.Password}, nil
}

type grafanaAnnotation struct {
	Time int64    `json:"time"`
	Text string   `json:"text"`
	Tags []string `json:"tags"`
}

// Post sends the annotation. The tags are Flux's: "flux", the reporting
// controller, the object's kind, name and namespace, and each metadata entry
// as "key: value". A token takes precedence over basic auth.
func (g *grafana) Post(ctx context.Context, e eventv1.Event) error {
	ts := e.Timestamp.Time
	if ts.IsZero() {
		ts = time.Now()
	}
	tags := []string{"flux", e.ReportingController,
		"kind: " + e.InvolvedObject.Kind, "name: " + e.InvolvedObject.Name, "namespace: " + e.InvolvedObject.Namespace}
	for _, m := range metadata(e) {
		tags = append(tags, m.key+": "+m.value)
	}
	r := request{url: g.url, body: grafanaAnnotation{Time: ts.UnixMilli(), Text: headline(e) + "\n" + e.Message, Tags: tags}}
	switch {
	case g.token != "":
		r.headers = map[string]string{"Authorization": "Bearer " + g.token}
	case g.user != "" || g.pass != "":
		r.user, r.pass = g.user, g.pass
	}
	return do(ctx, g.client, r)
}
