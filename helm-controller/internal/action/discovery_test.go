package action

import (
	"testing"

	. "github.com/onsi/gomega"
	"helm.sh/helm/v3/pkg/kube"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/discovery"
)

// invalidations counts the invalidations that reach the cache.
type invalidations struct {
	discovery.CachedDiscoveryInterface
	n int
}

func (i *invalidations) Invalidate() { i.n++ }

// TestWatchedDiscoveryInvalidatesOnChange checks when Helm's invalidation
// reaches the cache: always until the watches have synced, then only after
// a change was counted since the last one that did.
func TestWatchedDiscoveryInvalidatesOnChange(t *testing.T) {
	g := NewWithT(t)
	synced := false
	changes := &APIChanges{synced: func() bool { return synced }}
	cached := &invalidations{}
	d := newWatchedDiscovery(cached, changes)

	d.Invalidate()
	d.Invalidate()
	g.Expect(cached.n).To(Equal(2), "not synced: every invalidation counts")

	synced = true
	d.Invalidate()
	g.Expect(cached.n).To(Equal(3), "the first once synced")
	d.Invalidate()
	d.Invalidate()
	g.Expect(cached.n).To(Equal(3), "nothing changed")

	changes.bump()
	d.Invalidate()
	d.Invalidate()
	g.Expect(cached.n).To(Equal(4), "one change, one invalidation")
}

// TestHelmWritesOfCRDsCount checks that the kube client counts its own
// writes of CRDs and APIServices as changes, and no other kind.
func TestHelmWritesOfCRDsCount(t *testing.T) {
	g := NewWithT(t)
	changes := &APIChanges{}
	k := &countingKubeClient{changes: changes}
	info := func(group, version, kind string) *resource.Info {
		return &resource.Info{Mapping: &meta.RESTMapping{GroupVersionKind: schema.GroupVersionKind{Group: group, Version: version, Kind: kind}}}
	}
	k.count(kube.ResourceList{info("", "v1", "ConfigMap"), info("apps", "v1", "Deployment")})
	g.Expect(changes.count.Load()).To(BeZero())
	k.count(kube.ResourceList{info("", "v1", "ConfigMap"), info("apiextensions.k8s.io", "v1", "CustomResourceDefinition")})
	g.Expect(changes.count.Load()).To(Equal(uint64(1)))
	k.count(kube.ResourceList{info("apiregistration.k8s.io", "v1", "APIService")})
	g.Expect(changes.count.Load()).To(Equal(uint64(2)))
}
