// Package events is the notification-controller's event endpoint: it
// accepts the events the other controllers post (Flux's event JSON), drops
// invalid and duplicate ones, matches them against Alerts read from the
// manager's cache, and hands a notification per match to a per-Provider
// queue whose worker delivers it, so the sender never waits on a Provider.
package events

import (
	"context"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/ferrycd/ferry/notification-controller/internal/httpserver"
	"github.com/ferrycd/ferry/notification-controller/internal/ttlset"
	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
)

// maxDedupKeys bounds the de-duplication memory to a few megabytes.
const maxDedupKeys = 100_000

// Options configure an EventServer.
type Options struct {
	// Addr is where the endpoint listens, e.g. ":9090".
	Addr string
	// Reader reads Alerts, Providers, Secrets and the labels of event
	// objects; normally the manager's cached client. Alerts must be indexed
	// with IndexAlerts.
	Reader client.Reader
	Log    logr.Logger
	// RateLimitInterval is the window within which identical events are
	// answered 429 and not forwarded; zero disables it.
	RateLimitInterval time.Duration
	// NoCrossNamespaceRefs stops Alerts from forwarding events of objects
	// in other namespaces.
	NoCrossNamespaceRefs bool
	// Recorder, when set, records a Warning event on an Alert whose
	// configuration is broken.
	Recorder Recorder
	// Dispatcher overrides the default delivery settings; its Reader and Log
	// are filled in when empty.
	Dispatcher *Dispatcher
}

// Recorder is the part of a Kubernetes event recorder the server uses.
type Recorder interface {
	Eventf(regarding runtime.Object, related runtime.Object, eventtype, reason, action, note string, args ...interface{})
}

// EventServer is the event endpoint as a manager Runnable.
type EventServer struct {
	Options
	dedup   *ttlset.Set[uint64]
	matcher *matcher
	warned  warnThrottle
}

var _ manager.LeaderElectionRunnable = (*EventServer)(nil)

// New builds an EventServer from opts.
func New(opts Options) *EventServer {
	if opts.Dispatcher == nil {
		opts.Dispatcher = &Dispatcher{}
	}
	if opts.Dispatcher.Reader == nil {
		opts.Dispatcher.Reader = opts.Reader
	}
	if opts.Dispatcher.Log.GetSink() == nil {
		opts.Dispatcher.Log = opts.Log.WithName("dispatcher")
	}
	s := &EventServer{Options: opts, dedup: ttlset.New[uint64](opts.RateLimitInterval, maxDedupKeys)}
	s.matcher = &matcher{reader: opts.Reader, noCrossNamespaceRefs: opts.NoCrossNamespaceRefs, log: opts.Log, warn: s.warn}
	return s
}

// NeedLeaderElection returns false: every replica serves the events its
// Service sends it.
func (s *EventServer) NeedLeaderElection() bool { return false }

// Start runs the dispatcher and the HTTP endpoint until ctx is done.
func (s *EventServer) Start(ctx context.Context) error {
	s.Dispatcher.begin(ctx)
	if err := (&httpserver.Server{Name: "event server", Addr: s.Addr, Handler: s}).Start(ctx); err != nil {
		return err
	}
	s.Dispatcher.wg.Wait()
	return nil
}

// warnThrottle remembers when each Alert was last warned about, so a broken
// Alert produces one Kubernetes event per interval, not one per event.
type warnThrottle struct {
	mu   sync.Mutex
	last map[types.NamespacedName]time.Time
}

const warnInterval = 5 * time.Minute

// warn records a Warning event on a broken Alert and logs it, at most once
// per warnInterval per Alert.
func (s *EventServer) warn(a *notificationv1.Alert, reason, message string) {
	key := types.NamespacedName{Namespace: a.Namespace, Name: a.Name}
	now := time.Now()
	s.warned.mu.Lock()
	if s.warned.last == nil || len(s.warned.last) > 10_000 {
		s.warned.last = map[types.NamespacedName]time.Time{}
	}
	if now.Sub(s.warned.last[key]) < warnInterval {
		s.warned.mu.Unlock()
		return
	}
	s.warned.last[key] = now
	s.warned.mu.Unlock()
	s.Log.Info("an Alert cannot be applied to events", "alert", key.String(), "reason", reason, "message", message)
	if s.Recorder != nil {
		s.Recorder.Eventf(a.DeepCopy(), nil, "Warning", reason, "Match", "%s", message)
	}
}
