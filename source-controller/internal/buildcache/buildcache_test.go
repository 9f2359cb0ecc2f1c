package buildcache

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

type meta struct{ Version string }

func newCache(t *testing.T) *Cache[meta] {
	t.Helper()
	c, err := New[meta](filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// writer returns a build that writes content to a fresh file and counts
// its runs in n.
func writer(t *testing.T, n *atomic.Int32, content string) Build[meta] {
	return func() (string, meta, error) {
		n.Add(1)
		p := filepath.Join(t.TempDir(), "chart.tgz")
		return p, meta{Version: content}, os.WriteFile(p, []byte(content), 0o600)
	}
}

// get runs Get of key and releases the entry at once, failing the test on
// an error.
func get(t *testing.T, c *Cache[meta], key string, build Build[meta]) Entry[meta] {
	t.Helper()
	e, release, err := c.Get(context.Background(), key, build)
	if err != nil {
		t.Fatal(err)
	}
	release()
	return e
}

// holds returns how many callers hold or wait on key's slot.
func (c *Cache[M]) holdsOf(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.entries[key]; ok {
		return s.holds
	}
	return 0
}

func TestConcurrentGetsBuildOnce(t *testing.T) {
	g := NewWithT(t)
	c := newCache(t)
	var builds atomic.Int32
	gate := make(chan struct{})
	build := writer(t, &builds, "v1")
	blocked := func() (string, meta, error) {
		<-gate
		return build()
	}
	const n = 32
	entries := make([]Entry[meta], n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			e, release, err := c.Get(context.Background(), "app@1.0.0", blocked)
			entries[i], errs[i] = e, err
			if err == nil {
				release()
			}
		})
	}
	// Every caller is in: the leader in its build, the rest waiting on it.
	g.Eventually(func() int { return c.holdsOf("app@1.0.0") }).Should(Equal(n))
	close(gate)
	wg.Wait()
	g.Expect(builds.Load()).To(Equal(int32(1)), "one build for every caller")
	for i := range n {
		g.Expect(errs[i]).NotTo(HaveOccurred())
		g.Expect(entries[i]).To(Equal(entries[0]))
	}
	g.Expect(entries[0].Meta.Version).To(Equal("v1"))
	g.Expect(entries[0].Size).To(Equal(int64(2)))
	g.Expect(entries[0].Digest).To(HavePrefix("sha256:"))
	data, err := os.ReadFile(entries[0].Path)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(data)).To(Equal("v1"))

	// Later callers get the finished build without building.
	e := get(t, c, "app@1.0.0", build)
	g.Expect(e).To(Equal(entries[0]))
	g.Expect(builds.Load()).To(Equal(int32(1)))

	// Another key is another build.
	e2 := get(t, c, "app@2.0.0", writer(t, &builds, "v2"))
	g.Expect(e2.Path).NotTo(Equal(e.Path))
	g.Expect(builds.Load()).To(Equal(int32(2)))
	g.Expect(c.Len()).To(Equal(2))
}

func TestFailedBuildIsNotShared(t *testing.T) {
	g := NewWithT(t)
	c := newCache(t)
	var builds atomic.Int32
	gate := make(chan struct{})
	good := writer(t, &builds, "v1")
	var calls atomic.Int32
	failFirst := func() (string, meta, error) {
		if calls.Add(1) == 1 {
			<-gate
			return "", meta{}, errors.New("download failed")
		}
		return good()
	}
	var leaderErr error
	var wg sync.WaitGroup
	wg.Go(func() { _, _, leaderErr = c.Get(context.Background(), "k", failFirst) })
	g.Eventually(func() int { return c.holdsOf("k") }).Should(Equal(1))
	const waiters = 4
	errs := make([]error, waiters)
	for i := range waiters {
		wg.Go(func() {
			_, release, err := c.Get(context.Background(), "k", failFirst)
			errs[i] = err
			if err == nil {
				release()
			}
		})
	}
	g.Eventually(func() int { return c.holdsOf("k") }).Should(Equal(1 + waiters))
	close(gate)
	wg.Wait()
	g.Expect(leaderErr).To(MatchError("download failed"))
	for _, err := range errs {
		g.Expect(err).NotTo(HaveOccurred(), "a waiter builds on its own after the leader failed")
	}
	g.Expect(calls.Load()).To(Equal(int32(2)), "the failure and one good build")
	g.Expect(c.Len()).To(Equal(1))
}

func TestNothingBuiltIsNotCached(t *testing.T) {
	g := NewWithT(t)
	c := newCache(t)
	var builds atomic.Int32
	nothing := func() (string, meta, error) {
		builds.Add(1)
		return "", meta{Version: "1.0.0"}, nil
	}
	for range 2 {
		e := get(t, c, "k", nothing)
		g.Expect(e.Path).To(BeEmpty())
		g.Expect(e.Meta.Version).To(Equal("1.0.0"))
	}
	g.Expect(builds.Load()).To(Equal(int32(2)))
	g.Expect(c.Len()).To(Equal(0))
}

func TestPruneKeepsLinkedAndHeldFiles(t *testing.T) {
	g := NewWithT(t)
	c := newCache(t)
	var builds atomic.Int32
	e, release, err := c.Get(context.Background(), "k", writer(t, &builds, "v1"))
	g.Expect(err).NotTo(HaveOccurred())

	// Held by a caller that has not linked it yet: kept.
	g.Expect(c.Prune()).To(Equal(0))
	artifact := filepath.Join(t.TempDir(), "artifact.tgz")
	g.Expect(os.Link(e.Path, artifact)).To(Succeed())
	release()
	release()
	g.Expect(c.holdsOf("k")).To(Equal(0), "release is idempotent")

	// Linked from an artifact: kept.
	g.Expect(c.Prune()).To(Equal(0))
	g.Expect(c.Len()).To(Equal(1))

	// The last artifact gone: the cache's file goes too.
	g.Expect(os.Remove(artifact)).To(Succeed())
	g.Expect(c.Prune()).To(Equal(1))
	g.Expect(c.Len()).To(Equal(0))
	g.Expect(e.Path).NotTo(BeAnExistingFile())

	get(t, c, "k", writer(t, &builds, "v1"))
	g.Expect(builds.Load()).To(Equal(int32(2)), "a pruned key is built again")
}

func TestRemovedFileIsBuiltAgain(t *testing.T) {
	g := NewWithT(t)
	c := newCache(t)
	var builds atomic.Int32
	e := get(t, c, "k", writer(t, &builds, "v1"))
	g.Expect(os.Remove(e.Path)).To(Succeed())
	e = get(t, c, "k", writer(t, &builds, "v1"))
	g.Expect(e.Path).To(BeAnExistingFile())
	g.Expect(builds.Load()).To(Equal(int32(2)))
}

func TestEvictedEntryIsBuiltAgain(t *testing.T) {
	g := NewWithT(t)
	c := newCache(t)
	var builds atomic.Int32
	e := get(t, c, "k", writer(t, &builds, "v1"))
	other := get(t, c, "other", writer(t, &builds, "v2"))
	artifact := filepath.Join(t.TempDir(), "artifact.tgz")
	g.Expect(os.Link(e.Path, artifact)).To(Succeed())
	c.Evict(artifact)
	g.Expect(e.Path).NotTo(BeAnExistingFile())
	g.Expect(artifact).To(BeAnExistingFile(), "the artifact keeps its link")
	g.Expect(other.Path).To(BeAnExistingFile(), "other digests stay")
	get(t, c, "k", writer(t, &builds, "v1"))
	g.Expect(builds.Load()).To(Equal(int32(3)))
}

func TestWaiterGivesUpWithItsContext(t *testing.T) {
	g := NewWithT(t)
	c := newCache(t)
	gate := make(chan struct{})
	var builds atomic.Int32
	good := writer(t, &builds, "v1")
	var wg sync.WaitGroup
	wg.Go(func() {
		_, release, err := c.Get(context.Background(), "k", func() (string, meta, error) { <-gate; return good() })
		if err == nil {
			release()
		}
	})
	g.Eventually(func() int { return c.holdsOf("k") }).Should(Equal(1))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, _, err := c.Get(ctx, "k", good)
	g.Expect(err).To(MatchError(context.DeadlineExceeded))
	g.Expect(c.holdsOf("k")).To(Equal(1), "the waiter let go of the slot")
	close(gate)
	wg.Wait()
}

func TestNewClearsLeftovers(t *testing.T) {
	g := NewWithT(t)
	dir := filepath.Join(t.TempDir(), "cache")
	g.Expect(os.MkdirAll(dir, 0o755)).To(Succeed())
	g.Expect(os.WriteFile(filepath.Join(dir, "old"), []byte("x"), 0o644)).To(Succeed())
	_, err := New[meta](dir)
	g.Expect(err).NotTo(HaveOccurred())
	entries, err := os.ReadDir(dir)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(entries).To(BeEmpty())
}
