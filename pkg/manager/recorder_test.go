package manager

import (
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// blockingRecorder stands in for a recorder stuck posting to an
// unreachable notification-controller until release is closed.
type blockingRecorder struct {
	release chan struct{}
	mu      sync.Mutex
	got     []string
}

func (b *blockingRecorder) Eventf(o, _ runtime.Object, _, reason, _, _ string, _ ...interface{}) {
	<-b.release
	b.mu.Lock()
	b.got = append(b.got, o.(*corev1.ConfigMap).Name+"/"+reason)
	b.mu.Unlock()
}

func (b *blockingRecorder) AnnotatedEventf(o, r runtime.Object, _ map[string]string, t, reason, a, n string, args ...interface{}) {
	b.Eventf(o, r, t, reason, a, n, args...)
}

func TestAsyncRecorderNeverBlocksTheCaller(t *testing.T) {
	g := NewWithT(t)
	inner := &blockingRecorder{release: make(chan struct{})}
	r := newAsyncRecorder(inner, 1)
	obj := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "before"}}
	dropped := testutil.ToFloat64(droppedEvents)

	start := time.Now()
	r.AnnotatedEventf(obj, nil, nil, corev1.EventTypeNormal, "First", "Reconcile", "%s", "x")
	obj.Name = "after" // the caller goes on changing the object
	for range eventQueueSize + 10 {
		r.Eventf(obj, nil, corev1.EventTypeNormal, "More", "Reconcile", "x")
	}
	g.Expect(time.Since(start)).To(BeNumerically("<", time.Second), "recording must not wait for delivery")
	g.Expect(testutil.ToFloat64(droppedEvents)-dropped).To(BeNumerically(">", 0), "overflow is dropped and counted")

	close(inner.release)
	g.Eventually(func() []string {
		inner.mu.Lock()
		defer inner.mu.Unlock()
		return append([]string(nil), inner.got...)
	}).Should(ContainElement("before/First"), "the event describes the object as it was when recorded")
}
