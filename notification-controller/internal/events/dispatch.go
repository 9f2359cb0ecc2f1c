package events

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/notification-controller/internal/provider"
)

// Dispatcher defaults: a provider that is down holds at most QueueSize
// notifications, each tried MaxAttempts times with doubling backoff, before
// new ones are dropped and counted; all queues together hold at most
// MaxQueuedBytes of notifications, whatever the number of Providers.
const (
	DefaultQueueSize      = 1000
	DefaultMaxQueuedBytes = 64 << 20
	DefaultMaxAttempts    = 4
	DefaultBackoff        = time.Second
	DefaultMaxBackoff     = 30 * time.Second
	DefaultIdleTimeout    = 5 * time.Minute
)

// notification is an event on its way to one Provider, with the metadata of
// the Alert that matched it already merged.
type notification struct {
	event eventv1.Event
	alert types.NamespacedName
	// size approximates the memory the notification holds while queued.
	size int64
}

// newNotification wraps an event for the Alert alert.
func newNotification(e eventv1.Event, alert types.NamespacedName) notification {
	size := 512 + len(e.Message) + len(e.Reason) + len(e.InvolvedObject.Name) + len(e.InvolvedObject.Namespace)
	for k, v := range e.Metadata {
		size += 64 + len(k) + len(v)
	}
	return notification{event: e, alert: alert, size: int64(size)}
}

// Dispatcher delivers notifications off the request path: one bounded queue
// and one worker per Provider, so a slow or failing Provider delays only its
// own notifications and never the controllers posting events. A worker
// delivers in order, retries what may succeed later with backoff, and exits
// when idle, so deleted Providers leave nothing behind.
type Dispatcher struct {
	// Reader reads Providers and Secrets, normally through the manager's
	// cache.
	Reader    client.Reader
	Log       logr.Logger
	QueueSize int
	// MaxQueuedBytes bounds the memory of all queues together.
	MaxQueuedBytes int64
	MaxAttempts    int
	Backoff        time.Duration
	MaxBackoff     time.Duration
	IdleTimeout    time.Duration

	mu          sync.Mutex
	ctx         context.Context
	workers     map[types.NamespacedName]*worker
	queuedBytes int64
	wg          sync.WaitGroup
}

// worker is the queue and the cached notifier of one Provider.
type worker struct {
	key   types.NamespacedName
	queue chan notification
	// fingerprint identifies the Provider and Secret versions notifier was
	// built from; a change rebuilds it.
	fingerprint string
	notifier    provider.Notifier
	buildErr    error
	// secrets are scrubbed from error messages before they are logged.
	secrets []string
	// dropped counts the notifications dropped since lastDropLog, so a
	// flood is logged once a minute instead of once per event.
	dropped     int
	lastDropLog time.Time
}

// Start runs the dispatcher until ctx is done, then waits for the workers to
// finish the delivery in hand.
func (d *Dispatcher) Start(ctx context.Context) error {
	d.begin(ctx)
	<-ctx.Done()
	d.wg.Wait()
	return nil
}

// begin makes Enqueue accept notifications until ctx is done.
func (d *Dispatcher) begin(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ctx = ctx
	d.workers = map[types.NamespacedName]*worker{}
}

// Enqueue queues n for the Provider key without blocking. It returns false,
// and counts the drop, when the Provider's queue is full or the dispatcher
// is not running.
func (d *Dispatcher) Enqueue(key types.NamespacedName, n notification) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx == nil || d.ctx.Err() != nil {
		eventsDropped.WithLabelValues(dropShutdown).Inc()
		return false
	}
	w, ok := d.workers[key]
	if !ok {
		w = &worker{key: key, queue: make(chan notification, d.queueSize())}
		d.workers[key] = w
		d.wg.Add(1)
		go d.run(w)
	}
	if d.queuedBytes+n.size > d.maxQueuedBytes() {
		eventsDropped.WithLabelValues(dropMemory).Inc()
		return false
	}
	select {
	case w.queue <- n:
		queued.Inc()
		d.queuedBytes += n.size
		return true
	default:
		eventsDropped.WithLabelValues(dropQueueFull).Inc()
		w.dropped++
		if now := time.Now(); now.Sub(w.lastDropLog) >= time.Minute {
			d.Log.Info("dropping notifications: the Provider is slower than the events arrive",
				"provider", key.String(), "dropped", w.dropped, "queueSize", cap(w.queue))
			w.dropped, w.lastDropLog = 0, now
		}
		return false
	}
}

// run delivers a worker's queue until the dispatcher stops or the queue has
// been empty for the idle timeout.
func (d *Dispatcher) run(w *worker) {
	defer d.wg.Done()
	idle := time.NewTimer(d.idleTimeout())
	defer idle.Stop()
	for {
		select {
		case <-d.ctx.Done():
			if n := len(w.queue); n > 0 {
				eventsDropped.WithLabelValues(dropShutdown).Add(float64(n))
				queued.Sub(float64(n))
			}
			return
		case n := <-w.queue:
			queued.Dec()
			d.mu.Lock()
			d.queuedBytes -= n.size
			d.mu.Unlock()
			d.deliver(w, n)
			idle.Reset(d.idleTimeout())
		case <-idle.C:
			d.mu.Lock()
			if len(w.queue) == 0 {
				delete(d.workers, w.key)
				d.mu.Unlock()
				return
			}
			d.mu.Unlock()
			idle.Reset(d.idleTimeout())
		}
	}
}

// deliver sends one notification, retrying with doubling backoff while the
// failure may be temporary.
func (d *Dispatcher) deliver(w *worker, n notification) {
	// Built only when something is logged: this runs for every notification.
	kv := func(extra ...any) []any {
		o := n.event.InvolvedObject
		return append([]any{"provider", w.key.String(), "alert", n.alert.String(),
			"kind", o.Kind, "namespace", o.Namespace, "name", o.Name}, extra...)
	}
	p, notifier, err := d.notifierFor(d.ctx, w)
	typ := ""
	if p != nil {
		typ = p.Spec.Type
	}
	switch {
	case err != nil:
		deliveries.WithLabelValues(typ, deliveryFailure).Inc()
		d.Log.Error(errors.New(w.scrub(err.Error())), "cannot deliver the notification: the Provider is not usable", kv()...)
		return
	case p.Spec.Suspend:
		deliveries.WithLabelValues(typ, deliverySkipped).Inc()
		return
	}
	backoff := d.Backoff
	if backoff <= 0 {
		backoff = DefaultBackoff
	}
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(d.ctx, p.GetTimeout())
		err := notifier.Post(ctx, n.event)
		cancel()
		if err == nil {
			deliveries.WithLabelValues(typ, deliverySuccess).Inc()
			if d.Log.V(1).Enabled() {
				d.Log.V(1).Info("notification delivered", kv("attempts", attempt)...)
			}
			return
		}
		if !provider.IsRetryable(err) || attempt >= d.maxAttempts() || d.ctx.Err() != nil {
			deliveries.WithLabelValues(typ, deliveryFailure).Inc()
			d.Log.Error(errors.New(w.scrub(err.Error())), "notification failed", kv("type", typ, "attempts", attempt)...)
			return
		}
		deliveries.WithLabelValues(typ, deliveryRetry).Inc()
		t := time.NewTimer(backoff)
		select {
		case <-d.ctx.Done():
			t.Stop()
		case <-t.C:
		}
		backoff = min(2*backoff, d.maxBackoff())
	}
}

// scrub removes the Provider's secrets from a message, in case a service
// echoes one back in an error.
func (w *worker) scrub(msg string) string {
	for _, s := range w.secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "*****")
		}
	}
	return msg
}

func (d *Dispatcher) queueSize() int {
	if d.QueueSize > 0 {
		return d.QueueSize
	}
	return DefaultQueueSize
}

func (d *Dispatcher) maxQueuedBytes() int64 {
	if d.MaxQueuedBytes > 0 {
		return d.MaxQueuedBytes
	}
	return DefaultMaxQueuedBytes
}

func (d *Dispatcher) maxAttempts() int {
	if d.MaxAttempts > 0 {
		return d.MaxAttempts
	}
	return DefaultMaxAttempts
}

func (d *Dispatcher) maxBackoff() time.Duration {
	if d.MaxBackoff > 0 {
		return d.MaxBackoff
	}
	return DefaultMaxBackoff
}

func (d *Dispatcher) idleTimeout() time.Duration {
	if d.IdleTimeout > 0 {
		return d.IdleTimeout
	}
	return DefaultIdleTimeout
}
