package events

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
)

// TestDispatcherMemoryBudget checks that all queues together never hold
// more than MaxQueuedBytes: past it, notifications are dropped and counted.
func TestDispatcherMemoryBudget(t *testing.T) {
	g := NewWithT(t)
	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	t.Cleanup(stuck.Close)
	t.Cleanup(func() { close(release) })
	reader := newReader(newProvider("apps", "stuck", "generic", stuck.URL, func(p *notificationv1.Provider) {
		p.Spec.Timeout = &metav1.Duration{Duration: time.Hour}
	}))
	d := &Dispatcher{Reader: reader, Log: logr.Discard(), QueueSize: 1000, MaxQueuedBytes: 10 * 1024}
	ctx, cancel := context.WithCancel(context.Background())
	d.begin(ctx)
	t.Cleanup(func() { cancel(); d.wg.Wait() })

	before := testutil.ToFloat64(eventsDropped.WithLabelValues(dropMemory))
	key := types.NamespacedName{Namespace: "apps", Name: "stuck"}
	accepted := 0
	for range 100 {
		if d.Enqueue(key, newNotification(newEvent(), key)) {
			accepted++
		}
	}
	n := newNotification(newEvent(), key)
	// One notification may be in the worker's hands, out of the budget.
	g.Expect(accepted).To(BeNumerically("<=", 10*1024/int(n.size)+1))
	g.Expect(testutil.ToFloat64(eventsDropped.WithLabelValues(dropMemory)) - before).To(BeNumerically(">=", 100-accepted))
	d.mu.Lock()
	g.Expect(d.queuedBytes).To(BeNumerically("<=", 10*1024))
	d.mu.Unlock()
}

// TestIdleWorkersExit checks that a Provider's worker goes away once its
// queue has been empty for the idle timeout, and comes back on demand.
func TestIdleWorkersExit(t *testing.T) {
	g := NewWithT(t)
	sk := newSink(t, http.StatusOK)
	reader := newReader(newProvider("apps", "p", "generic", sk.URL))
	d := &Dispatcher{Reader: reader, Log: logr.Discard(), IdleTimeout: 20 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	d.begin(ctx)
	t.Cleanup(func() { cancel(); d.wg.Wait() })
	workers := func() int {
		d.mu.Lock()
		defer d.mu.Unlock()
		return len(d.workers)
	}
	key := types.NamespacedName{Namespace: "apps", Name: "p"}
	for i := 1; i <= 2; i++ {
		g.Expect(d.Enqueue(key, newNotification(newEvent(), key))).To(BeTrue())
		g.Eventually(sk.count, waitFor).Should(Equal(i))
		g.Eventually(workers, waitFor).Should(Equal(0))
	}
}
