package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"
)

// maxKeys is how many changed objects one message names; past that it
// says "many" and every page refreshes, which is cheaper than a long list.
const maxKeys = 200

// hub fans the informers' changes out to the open pages as server-sent
// events. Changes are batched per subscriber: the first change arms a
// timer of one window, everything that changes until it fires goes into
// one message, so a burst of 5,000 status updates costs a page a handful
// of refreshes, and pages never poll.
type hub struct {
	window time.Duration

	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

type subscriber struct {
	mu   sync.Mutex
	keys map[string]struct{}
	many bool
	wake chan struct{}
}

func newHub(window time.Duration) *hub {
	return &hub{window: window, subs: map[*subscriber]struct{}{}}
}

// publish records that the object key of cluster changed.
func (h *hub) publish(cluster, key string) {
	full := cluster + "/" + key
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.mu.Lock()
		if !s.many {
			s.keys[full] = struct{}{}
			if len(s.keys) > maxKeys {
				s.many, s.keys = true, map[string]struct{}{}
			}
		}
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

func (h *hub) subscribe() *subscriber {
	s := &subscriber{keys: map[string]struct{}{}, wake: make(chan struct{}, 1)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

// change is one server-sent message: the objects ("cluster/Kind/ns/name")
// that changed since the last one, or many.
type change struct {
	Keys []string `json:"keys,omitempty"`
	Many bool     `json:"many,omitempty"`
}

func (s *subscriber) take() change {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := change{Many: s.many}
	for k := range s.keys {
		c.Keys = append(c.Keys, k)
	}
	sort.Strings(c.Keys)
	s.keys, s.many = map[string]struct{}{}, false
	return c
}

// serve holds an event stream open until the browser leaves.
func (h *hub) serve(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	s := h.subscribe()
	defer h.unsubscribe(s)
	// A lost connection is retried by the browser after two seconds; the
	// first message tells the page the stream is live.
	fmt.Fprint(w, "retry: 2000\nevent: hello\ndata: {}\n\n")
	flusher.Flush()
	heartbeat := time.NewTicker(20 * time.Second)
	defer heartbeat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-heartbeat.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			flusher.Flush()
		case <-s.wake:
			batch := time.NewTimer(h.window)
			select {
			case <-r.Context().Done():
				batch.Stop()
				return
			case <-batch.C:
			}
			data, _ := json.Marshal(s.take())
			fmt.Fprintf(w, "event: changed\ndata: %s\n\n", data)
			flusher.Flush()
		}
	}
}
