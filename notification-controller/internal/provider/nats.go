package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	"github.com/nats-io/nats.go"
)

// natsPublisher publishes the event as Flux's JSON on the subject in
// spec.channel of the NATS server in the address. It connects for each
// event and flushes before returning, so a delivery that returns nil has
// reached the server; Providers see few events, and a connection held open
// per Provider would outlive Provider changes.
type natsPublisher struct {
	url     string
	subject string
	opts    []nats.Option
	timeout time.Duration
}

func newNATS(cfg Config) (Notifier, error) {
	if cfg.Address == "" {
		return nil, errors.New("nats provider needs the server URL in spec.address or the 'address' key of spec.secretRef")
	}
	if cfg.Channel == "" {
		return nil, errors.New("nats provider needs the subject in spec.channel")
	}
	opts := []nats.Option{nats.Name("ferry-notification-controller"), nats.NoReconnect()}
	switch {
	case cfg.Username != "" && cfg.Password != "":
		opts = append(opts, nats.UserInfo(cfg.Username, cfg.Password))
	case cfg.Token != "":
		opts = append(opts, nats.Token(cfg.Token))
	}
	if cfg.TLS != nil {
		opts = append(opts, nats.Secure(cfg.TLS))
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	opts = append(opts, nats.Timeout(timeout))
	return &natsPublisher{url: cfg.Address, subject: cfg.Channel, opts: opts, timeout: timeout}, nil
}

// Post publishes the event. Errors name the subject, never the server URL,
// which may embed credentials.
func (n *natsPublisher) Post(ctx context.Context, e eventv1.Event) error {
	data, err := json.Marshal(e)
	if err != nil {
		return permanent("encoding the event: %w", err)
	}
	nc, err := nats.Connect(n.url, n.opts...)
	if err != nil {
		return fmt.Errorf("connecting to the NATS server: %w", err)
	}
	defer nc.Close()
	if err := nc.Publish(n.subject, data); err != nil {
		return fmt.Errorf("publishing to NATS subject %q: %w", n.subject, err)
	}
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	if err := nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("publishing to NATS subject %q: %w", n.subject, err)
	}
	return nc.LastError()
}
