package provider

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// sentry sends events to the project a DSN names
// (https://<public key>@<host>/<project id>), through Sentry's envelope
// endpoint. Error events become Sentry errors, which alert; info events
// become transactions, which Sentry charts without alerting, as Flux sends
// them. spec.channel is the Sentry environment.
type sentry struct {
	client      *http.Client
	endpoint    *url.URL
	auth        string
	dsn         string
	environment string
}

func newSentry(cfg Config, client *http.Client) (Notifier, error) {
	if cfg.Address == "" {
		return nil, errors.New("sentry provider needs the project's DSN: set spec.address or the 'address' key of spec.secretRef")
	}
	dsn, err := url.Parse(cfg.Address)
	if err != nil || (dsn.Scheme != "http" && dsn.Scheme != "https") || dsn.Host == "" || dsn.User == nil || dsn.User.Username() == "" {
		return nil, errors.New("sentry provider address is not a DSN of the form https://<public key>@<host>/<project id>")
	}
	prefix, project := path.Split(strings.TrimSuffix(dsn.Path, "/"))
	if project == "" {
		return nil, errors.New("sentry provider DSN names no project id")
	}
	endpoint := &url.URL{Scheme: dsn.Scheme, Host: dsn.Host, Path: path.Join(prefix, "api", project, "envelope") + "/"}
	return &sentry{
		client:      client,
		endpoint:    endpoint,
		auth:        "Sentry sentry_version=7, sentry_client=ferry-notification-controller/1.0, sentry_key=" + dsn.User.Username(),
		dsn:         cfg.Address,
		environment: cfg.Channel,
	}, nil
}

// sentryEvent is the part of Sentry's event schema Ferry fills, for both
// errors and transactions.
type sentryEvent struct {
	EventID        string            `json:"event_id"`
	Type           string            `json:"type,omitempty"`
	Timestamp      string            `json:"timestamp"`
	StartTimestamp string            `json:"start_timestamp,omitempty"`
	Level          string            `json:"level,omitempty"`
	Platform       string            `json:"platform"`
	ServerName     string            `json:"server_name,omitempty"`
	Transaction    string            `json:"transaction"`
	Environment    string            `json:"environment,omitempty"`
	Message        *sentryMessage    `json:"message,omitempty"`
	Tags           map[string]string `json:"tags"`
	Extra          map[string]string `json:"extra,omitempty"`
	Contexts       map[string]any    `json:"contexts,omitempty"`
}

type sentryMessage struct {
	Formatted string `json:"formatted"`
}

// Post sends one envelope with one item. The event id is derived from the
// event, so a retried delivery is deduplicated by Sentry.
func (s *sentry) Post(ctx context.Context, e eventv1.Event) error {
	data, err := json.Marshal(e)
	if err != nil {
		return permanent("encoding the event: %w", err)
	}
	sum := sha256.Sum256(data)
	id := hex.EncodeToString(sum[:16])
	ts := e.Timestamp.UTC().Format(time.RFC3339)
	obj := e.InvolvedObject
	ev := sentryEvent{
		EventID:     id,
		Timestamp:   ts,
		Platform:    "other",
		Transaction: obj.Kind + ": " + obj.Namespace + "/" + obj.Name,
		Environment: s.environment,
		Tags: map[string]string{
			"flux_involved_object_kind":      obj.Kind,
			"flux_involved_object_namespace": obj.Namespace,
			"flux_involved_object_name":      obj.Name,
			"flux_reporting_controller":      e.ReportingController,
			"flux_reason":                    e.Reason,
		},
	}
	itemType := "event"
	if isError(e) {
		ev.Level, ev.ServerName = "error", e.ReportingController
		ev.Message = &sentryMessage{Formatted: e.Message}
		ev.Extra = e.Metadata
	} else {
		itemType, ev.Type, ev.StartTimestamp = "transaction", "transaction", ts
		for k, v := range e.Metadata {
			ev.Tags[k] = v
		}
		ev.Contexts = map[string]any{"trace": map[string]string{
			"trace_id": id, "span_id": hex.EncodeToString(sum[16:24]), "op": "event", "description": e.Message,
		}}
	}
	item, err := json.Marshal(ev)
	if err != nil {
		return permanent("encoding the Sentry event: %w", err)
	}
	var body bytes.Buffer
	header, _ := json.Marshal(map[string]string{"event_id": id, "dsn": s.dsn, "sent_at": time.Now().UTC().Format(time.RFC3339)})
	itemHeader, _ := json.Marshal(map[string]any{"type": itemType, "length": len(item)})
	for _, line := range [][]byte{header, itemHeader, item} {
		body.Write(line)
		body.WriteByte('\n')
	}
	return doRaw(ctx, s.client, request{url: s.endpoint, headers: map[string]string{
		"Content-Type": "application/x-sentry-envelope", "X-Sentry-Auth": s.auth,
	}}, &body)
}
