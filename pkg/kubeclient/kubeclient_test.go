package kubeclient

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/ferrycd/ferry/pkg/apis/meta"
)

// Nothing here talks to a server: building a client and a lazy mapper
// does not.
var base = &rest.Config{Host: "https://127.0.0.1:1"}

func kubeconfig(server, token string) []byte {
	return fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters: [{name: remote, cluster: {server: %q}}]
users: [{name: ci, user: {token: %q}}]
contexts: [{name: remote, context: {cluster: remote, user: ci}}]
current-context: remote
`, server, token)
}

// fakeClock is a clock the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func newTestFactory(maxTargets int) (*Factory, *fakeClock, *[]*Target) {
	f := NewBoundedFactory(base, clientgoscheme.Scheme, apimeta.NewDefaultRESTMapper(nil), maxTargets)
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	f.now = clock.now
	var evicted []*Target
	f.OnEvict = func(t *Target) { evicted = append(evicted, t) }
	return f, clock, &evicted
}

func TestFactoryKeepsAtMostMaxTargets(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	f, _, evicted := newTestFactory(2)
	get := func(sa string) *Target {
		tg, err := f.Get(ctx, nil, Options{Namespace: "apps", ServiceAccountName: sa})
		g.Expect(err).NotTo(HaveOccurred())
		return tg
	}
	a, b := get("a"), get("b")
	g.Expect(get("a")).To(BeIdenticalTo(a), "a cached Target is reused")
	c := get("c") // b is now the least recently used
	g.Expect(f.Len()).To(Equal(2))
	g.Expect(*evicted).To(ConsistOf(BeIdenticalTo(b)))
	g.Expect(get("a")).To(BeIdenticalTo(a))
	g.Expect(get("c")).To(BeIdenticalTo(c))
	g.Expect(get("b")).NotTo(BeIdenticalTo(b), "an evicted Target is built anew")
	g.Expect(f.Len()).To(Equal(2))
}

func TestFactoryDropsTheTargetOfARotatedKubeconfig(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "remote"},
		Data: map[string][]byte{"value": kubeconfig("https://127.0.0.1:2", "old")}}
	reader := fake.NewClientBuilder().WithObjects(secret).Build()
	f, clock, evicted := newTestFactory(DefaultMaxTargets)
	opts := Options{Namespace: "apps", KubeConfig: &meta.KubeConfigReference{
		SecretRef: fluxmeta.SecretKeyReference{Name: "remote"}}}
	local, err := f.Get(ctx, reader, Options{Namespace: "apps"})
	g.Expect(err).NotTo(HaveOccurred())

	old, err := f.Get(ctx, reader, opts)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(f.mappers).To(HaveLen(1), "the remote cluster has its own mapper")

	clock.t = clock.t.Add(40 * time.Minute)
	secret.Data["value"] = kubeconfig("https://127.0.0.1:2", "rotated")
	g.Expect(reader.Update(ctx, secret)).To(Succeed())
	rotated, err := f.Get(ctx, reader, opts)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rotated).NotTo(BeIdenticalTo(old))
	g.Expect(rotated.Config.BearerToken).To(Equal("rotated"))
	g.Expect(f.Len()).To(Equal(3))

	// An hour after its last use the old kubeconfig's Target and mapper
	// go; those used since stay.
	clock.t = clock.t.Add(30 * time.Minute)
	again, err := f.Get(ctx, reader, opts)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again).To(BeIdenticalTo(rotated))
	g.Expect(*evicted).To(ConsistOf(BeIdenticalTo(old), BeIdenticalTo(local)))
	g.Expect(f.Len()).To(Equal(1))
	g.Expect(f.mappers).To(HaveLen(1))
	for _, m := range f.mappers {
		g.Expect(m.users).To(Equal(1), "one Target uses the rotated kubeconfig's mapper")
	}

	clock.t = clock.t.Add(2 * time.Hour)
	_, err = f.Get(ctx, reader, Options{Namespace: "apps"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(f.Len()).To(Equal(1))
	g.Expect(f.mappers).To(BeEmpty(), "the mapper goes with the last Target of its cluster")
}

func TestFactoryConcurrentGet(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	f := NewBoundedFactory(base, clientgoscheme.Scheme, nil, 4)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				_, err := f.Get(ctx, client.Reader(nil), Options{Namespace: "apps", ServiceAccountName: fmt.Sprintf("sa-%d", (w+i)%10)})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	g.Expect(f.Len()).To(Equal(4))
}
