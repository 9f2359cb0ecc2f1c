package action

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"helm.sh/helm/v3/pkg/kube"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// APIChanges counts changes to what the local API server serves: every
// add, update and delete of a CustomResourceDefinition or an APIService
// the controller watches, and every write of one by a Helm action (which
// counts before its watch event can arrive).
type APIChanges struct {
	count  atomic.Uint64
	synced func() bool
}

// servedKinds are the kinds whose changes change discovery, at the
// version watched.
var servedKinds = []metav1.TypeMeta{
	{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
	{APIVersion: "apiregistration.k8s.io/v1", Kind: "APIService"},
}

// WatchAPIChanges counts changes to CustomResourceDefinitions and
// APIServices through metadata-only informers of c.
func WatchAPIChanges(ctx context.Context, c cache.Cache) (*APIChanges, error) {
	a := &APIChanges{}
	bump := func(any) { a.count.Add(1) }
	handler := toolscache.ResourceEventHandlerFuncs{
		AddFunc: bump, DeleteFunc: bump, UpdateFunc: func(_, _ any) { a.count.Add(1) },
	}
	var informers []cache.Informer
	for _, tm := range servedKinds {
		obj := &metav1.PartialObjectMetadata{TypeMeta: tm}
		inf, err := c.GetInformer(ctx, obj, cache.BlockUntilSynced(false))
		if err != nil {
			return nil, fmt.Errorf("watching %s: %w", tm.Kind, err)
		}
		if _, err := inf.AddEventHandler(handler); err != nil {
			return nil, fmt.Errorf("watching %s: %w", tm.Kind, err)
		}
		informers = append(informers, inf)
	}
	a.synced = func() bool {
		for _, inf := range informers {
			if !inf.HasSynced() {
				return false
			}
		}
		return true
	}
	return a, nil
}

// NewLocalConfigs is NewConfigs for a controller on mgr's cluster: one
// discovery client of the manager's identity shared among all targets on
// the local cluster, invalidated by watches through its cache
// (ShareLocalDiscovery), and a ReleaseIndex run by the manager
// (UseReleaseIndex).
func NewLocalConfigs(ctx context.Context, mgr manager.Manager) (*Configs, error) {
	changes, err := WatchAPIChanges(ctx, mgr.GetCache())
	if err != nil {
		return nil, err
	}
	configs := NewConfigs()
	if err := configs.ShareLocalDiscovery(mgr.GetConfig(), changes); err != nil {
		return nil, err
	}
	index, err := NewReleaseIndex(mgr.GetConfig())
	if err != nil {
		return nil, err
	}
	if err := mgr.Add(index); err != nil {
		return nil, err
	}
	configs.UseReleaseIndex(index)
	return configs, nil
}

// bump counts a change made by this process.
func (a *APIChanges) bump() { a.count.Add(1) }

// current is the count, and whether every watch has synced (before that,
// changes can be missed).
func (a *APIChanges) current() (uint64, bool) {
	return a.count.Load(), a.synced != nil && a.synced()
}

// watchedDiscovery is the local cluster's discovery, shared by every
// Helm configuration on it whatever the identity (discovery documents do
// not depend on who asks). Helm invalidates discovery before every install
// and upgrade, so that a chart sees the CRDs installed since; each
// invalidation was two requests more per release (the API server's
// /api and /apis). Here an invalidation takes effect only when something
// changed since the last one: a CRD or APIService event, or a write of one
// by a Helm action. The count is read before the refill, so a change
// during it is seen by the next invalidation.
type watchedDiscovery struct {
	discovery.CachedDiscoveryInterface
	changes *APIChanges

	mu sync.Mutex
	// at is the change count at the last invalidation that took effect;
	// valid is false until one has with every watch synced.
	at    uint64
	valid bool
}

func newWatchedDiscovery(d discovery.CachedDiscoveryInterface, changes *APIChanges) *watchedDiscovery {
	return &watchedDiscovery{CachedDiscoveryInterface: d, changes: changes}
}

// Invalidate drops what is cached when the served kinds changed since the
// last invalidation, or when that cannot be known.
func (d *watchedDiscovery) Invalidate() {
	n, synced := d.changes.current()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.valid && synced && n == d.at {
		return
	}
	d.CachedDiscoveryInterface.Invalidate()
	d.at, d.valid = n, synced
}

// countingKubeClient is Helm's kube client counting its own writes of
// CRDs and APIServices as changes (APIChanges), so an install that creates
// CRDs sees them in Capabilities without waiting for their watch event.
type countingKubeClient struct {
	*kube.Client
	changes *APIChanges
}

func (c *countingKubeClient) Create(resources kube.ResourceList) (*kube.Result, error) {
	defer c.count(resources)
	return c.Client.Create(resources)
}

func (c *countingKubeClient) Update(original, target kube.ResourceList, force bool) (*kube.Result, error) {
	defer c.count(original)
	defer c.count(target)
	return c.Client.Update(original, target, force)
}

func (c *countingKubeClient) Delete(resources kube.ResourceList) (*kube.Result, []error) {
	defer c.count(resources)
	return c.Client.Delete(resources)
}

// count bumps the changes when resources hold a served kind.
func (c *countingKubeClient) count(resources kube.ResourceList) {
	for _, info := range resources {
		if info.Mapping == nil {
			continue
		}
		gvk := info.Mapping.GroupVersionKind
		for _, tm := range servedKinds {
			if gvk.GroupKind() == tm.GroupVersionKind().GroupKind() {
				c.changes.bump()
				return
			}
		}
	}
}
