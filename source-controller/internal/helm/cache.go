package helm

import (
	"container/list"
	"sync"
)

// IndexCache keeps the most recently used parsed indexes by artifact digest,
// so the HelmCharts of one repository parse its index once per revision
// rather than once per reconcile. A digest names content, so an entry never
// goes stale; it only ages out.
type IndexCache struct {
	mu    sync.Mutex
	max   int
	order *list.List
	items map[string]*list.Element
	// loading holds the loads in flight by digest, so HelmCharts that miss
	// at once (after a restart) parse the index once, not once each.
	loading map[string]*load
}

// load is one Load in flight; done is closed when index or err is set.
type load struct {
	done  chan struct{}
	index *Index
	err   error
}

type cacheEntry struct {
	digest string
	index  *Index
}

// NewIndexCache returns a cache of up to max indexes; max < 1 disables it.
func NewIndexCache(max int) *IndexCache {
	return &IndexCache{max: max, order: list.New(), items: map[string]*list.Element{}, loading: map[string]*load{}}
}

// Load returns the index stored under digest, calling read to load it when
// it is not cached. Concurrent Loads of one digest call read once and share
// its result, error included; a failed load is not remembered. A nil cache
// just calls read.
func (c *IndexCache) Load(digest string, read func() (*Index, error)) (*Index, error) {
	if c == nil {
		return read()
	}
	if idx, ok := c.Get(digest); ok {
		return idx, nil
	}
	c.mu.Lock()
	if l, ok := c.loading[digest]; ok {
		c.mu.Unlock()
		<-l.done
		return l.index, l.err
	}
	l := &load{done: make(chan struct{})}
	c.loading[digest] = l
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.loading, digest)
		c.mu.Unlock()
		close(l.done)
	}()
	if l.index, l.err = read(); l.err == nil {
		c.Put(digest, l.index)
	}
	return l.index, l.err
}

// Get returns the index stored under digest.
func (c *IndexCache) Get(digest string) (*Index, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[digest]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cacheEntry).index, true
}

// Put stores idx under digest, evicting the least recently used index when
// full. Callers must not modify idx afterwards.
func (c *IndexCache) Put(digest string, idx *Index) {
	if c == nil || c.max < 1 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[digest]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.items[digest] = c.order.PushFront(&cacheEntry{digest: digest, index: idx})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).digest)
	}
}
