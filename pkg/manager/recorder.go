package manager

import (
	"fmt"

	"github.com/fluxcd/pkg/runtime/events"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// eventQueueSize bounds the events waiting to be recorded.
const eventQueueSize = 1000

// droppedEvents counts events dropped because the queue was full.
var droppedEvents = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "ferry_events_dropped_total",
	Help: "Events dropped because the event queue was full (the notification-controller is slow or unreachable).",
})

func init() { metrics.Registry.MustRegister(droppedEvents) }

// asyncRecorder records events from a background worker. The recorder it
// wraps posts each event to the notification-controller synchronously, with
// retries; done inline, an unreachable notification-controller would stall
// every reconcile that records an event. When the queue is full the event
// is dropped and counted instead.
type asyncRecorder struct {
	inner events.Recorder
	queue chan func()
}

var _ events.Recorder = (*asyncRecorder)(nil)

func newAsyncRecorder(inner events.Recorder, workers int) *asyncRecorder {
	r := &asyncRecorder{inner: inner, queue: make(chan func(), eventQueueSize)}
	for range workers {
		go func() {
			for record := range r.queue {
				record()
			}
		}()
	}
	return r
}

// Eventf records an event about a copy of regarding, taken now, since the
// caller goes on changing the object.
func (r *asyncRecorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...interface{}) {
	regarding, related = deepCopy(regarding), deepCopy(related)
	message := fmt.Sprintf(note, args...)
	r.enqueue(func() { r.inner.Eventf(regarding, related, eventtype, reason, action, "%s", message) })
}

// AnnotatedEventf is Eventf with annotations (the revision metadata).
func (r *asyncRecorder) AnnotatedEventf(regarding, related runtime.Object, annotations map[string]string, eventtype, reason, action, note string, args ...interface{}) {
	regarding, related = deepCopy(regarding), deepCopy(related)
	message := fmt.Sprintf(note, args...)
	r.enqueue(func() {
		r.inner.AnnotatedEventf(regarding, related, annotations, eventtype, reason, action, "%s", message)
	})
}

func (r *asyncRecorder) enqueue(record func()) {
	select {
	case r.queue <- record:
	default:
		droppedEvents.Inc()
	}
}

func deepCopy(o runtime.Object) runtime.Object {
	if o == nil {
		return nil
	}
	return o.DeepCopyObject()
}
