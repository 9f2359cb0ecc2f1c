package events

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Outcomes of an event POST, the values of the "result" label of
// eventsReceived.
const (
	resultDispatched = "dispatched"
	resultUnmatched  = "unmatched"
	resultDuplicate  = "duplicate"
	resultInvalid    = "invalid"
	resultTooLarge   = "too_large"
	resultError      = "error"
)

// Reasons an accepted notification is not delivered, the values of the
// "reason" label of eventsDropped.
const (
	dropQueueFull = "queue_full"
	dropMemory    = "memory"
	dropShutdown  = "shutdown"
)

// Results of one delivery attempt, the values of the "result" label of
// deliveries.
const (
	deliverySuccess = "success"
	deliveryRetry   = "retry"
	deliveryFailure = "failure"
	deliverySkipped = "skipped"
)

var (
	eventsReceived = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ferry_notification_events_received_total",
		Help: "Events posted to the event endpoint, by result: dispatched, unmatched, duplicate, invalid, too_large, error.",
	}, []string{"result"})

	eventsDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ferry_notification_events_dropped_total",
		Help: "Notifications accepted but never delivered, by reason: queue_full (the provider is too slow), memory (all queues hold their byte budget), shutdown.",
	}, []string{"reason"})

	deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ferry_notification_deliveries_total",
		Help: "Delivery attempts to providers, by provider type and result: success, retry, failure, skipped.",
	}, []string{"type", "result"})

	queued = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "ferry_notification_queued",
		Help: "Notifications waiting in the per-provider queues.",
	})
)

func init() {
	metrics.Registry.MustRegister(eventsReceived, eventsDropped, deliveries, queued)
}
