package failover

import (
	"context"
	"io"
	"math/rand/v2"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/harness"
)

// serviceProxy does for the source-controller's Service what kube-proxy
// does for a ClusterIP: a connection to the Service's address goes to one
// ready Pod the Service's selector matches, chosen at random among them,
// and is refused when there is none. The Service is the one in
// config/manager/source-controller, applied as it is. Pods map to the
// processes standing for them; the endpoints are resolved per connection,
// so a label the leader moves takes effect at once, as it does once the
// EndpointSlice controller and kube-proxy have caught up.
type serviceProxy struct {
	ln net.Listener

	mu       sync.Mutex
	backends map[string]string
	// routed counts the connections sent to each Pod.
	routed map[string]int
}

// newServiceProxy applies the source-controller's Service and serves its
// address on loopback until the test ends.
func newServiceProxy(t *testing.T) *serviceProxy {
	t.Helper()
	g := NewWithT(t)
	root, err := cluster.RepoRoot()
	g.Expect(err).NotTo(HaveOccurred())
	_, err = testCluster.Kubectl(nil, "apply", "-n", harness.Namespace, "-f",
		filepath.Join(root, "config", "manager", "source-controller", "service.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	p := &serviceProxy{ln: ln, backends: map[string]string{}, routed: map[string]int{}}
	t.Cleanup(func() { _ = ln.Close() })
	go p.serve()
	return p
}

// Addr is the Service's address, what the source-controller advertises in
// artifact URLs.
func (p *serviceProxy) Addr() string { return p.ln.Addr().String() }

// add routes traffic for the replica's Pod to its artifact server.
func (p *serviceProxy) add(r *replica) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backends[r.pod] = r.storageAddr
}

// endpoints are the names of the ready Pods the Service selects, sorted.
func (p *serviceProxy) endpoints(ctx context.Context) ([]string, error) {
	svc := &corev1.Service{}
	if err := testCluster.Client.Get(ctx, client.ObjectKey{Namespace: harness.Namespace, Name: "source-controller"}, svc); err != nil {
		return nil, err
	}
	pods := &corev1.PodList{}
	if err := testCluster.Client.List(ctx, pods, client.InNamespace(harness.Namespace),
		client.MatchingLabelsSelector{Selector: labels.SelectorFromSet(svc.Spec.Selector)}); err != nil {
		return nil, err
	}
	var names []string
	for _, pod := range pods.Items {
		if pod.DeletionTimestamp == nil && podReady(&pod) {
			names = append(names, pod.Name)
		}
	}
	slices.Sort(names)
	return names, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// routedTo is how many connections went to the Pod so far.
func (p *serviceProxy) routedTo(pod string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.routed[pod]
}

func (p *serviceProxy) serve() {
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(conn)
	}
}

// forward pipes one connection to a Pod the Service selects.
func (p *serviceProxy) forward(conn net.Conn) {
	defer conn.Close()
	eps, err := p.endpoints(context.Background())
	if err != nil || len(eps) == 0 {
		return
	}
	pod := eps[rand.IntN(len(eps))]
	p.mu.Lock()
	addr, ok := p.backends[pod]
	if ok {
		p.routed[pod]++
	}
	p.mu.Unlock()
	if !ok {
		return
	}
	backend, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer backend.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(backend, conn); done <- struct{}{} }()
	go func() { _, _ = io.Copy(conn, backend); done <- struct{}{} }()
	<-done
}
