package webhook

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// webhooks counts webhook requests by Receiver type (empty when no Receiver
// was found) and answer, e.g. {type="github", code="Unauthorized"}.
var webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "ferry_notification_webhooks_total",
	Help: "Webhook requests to Receivers, by Receiver type and HTTP answer.",
}, []string{"type", "code"})

func init() { metrics.Registry.MustRegister(webhooks) }
