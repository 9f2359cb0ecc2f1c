// Package buildcache makes one file of a build that many objects ask for:
// the HelmCharts of one chart at one version from one source would each
// download (and, with values files, package) the same chart, and Helm's
// packaging stamps the time into the archive, so each would also serve a
// different digest. Here the first asks for the build, every other one
// asking at the same time waits for it, and all of them serve the one file,
// hard-linked into their own artifact paths (storage.Link).
//
// The cache is keyed by the build's inputs, which the caller spells out in
// the key; a key names content, so an entry never goes stale. An entry goes
// when no artifact links to its file any more (Prune), which is what makes
// garbage collection right: deleting one object removes only its link, the
// last one's deletion leaves the cache holding the only link, and Prune
// removes it. Entries live in memory; New clears the directory of a previous
// process, whose files the artifacts still hold through their own links.
package buildcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// Entry is a finished build.
type Entry[M any] struct {
	// Path is the cached file, to link artifacts to; empty when the build
	// made nothing to share (see Get).
	Path string
	// Digest is "sha256:<hex>" of the file and Size its length.
	Digest string
	Size   int64
	// Meta is what the build said about its file (a chart's name and
	// version).
	Meta M
}

// Cache holds the builds of one kind in a directory. It is safe for
// concurrent use.
type Cache[M any] struct {
	dir     string
	mu      sync.Mutex
	entries map[string]*slot[M]
}

// slot is one key's build: in flight until done is closed, then either
// ready (ok) or removed from the map.
type slot[M any] struct {
	done  chan struct{}
	entry Entry[M]
	ok    bool
	// holds counts the callers between Get and their release; Prune never
	// removes a held entry, so a file is not deleted before it is linked.
	holds int
}

// New returns a cache keeping its files in dir, which must be on the
// artifact store's filesystem (storage.SharedDir). Files left in dir by an
// earlier process are removed.
func New[M any](dir string) (*Cache[M], error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("failed to clear the build cache: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("failed to create the build cache: %w", err)
	}
	return &Cache[M]{dir: dir, entries: map[string]*slot[M]{}}, nil
}

// Build makes the file of a key: it returns the path of a file it wrote
// (copied into the cache; the caller removes its own copy) and what to
// remember with it. A build that returns an empty path made nothing to
// share, such as a chart found to be up to date already.
type Build[M any] func() (path string, meta M, err error)

// Get returns key's entry, running build when there is none. Concurrent Gets
// of one key run one build; the others wait for it and share its file. A
// failed build (or one that made nothing) is not shared: each waiter then
// tries on its own, so every caller reports its own error. release must be
// called once the caller has linked the file or given up on it.
func (c *Cache[M]) Get(ctx context.Context, key string, build Build[M]) (e Entry[M], release func(), err error) {
	for {
		c.mu.Lock()
		s, found := c.entries[key]
		if found && s.ok && !exists(s.entry.Path) {
			// Its file was removed behind the cache's back: build again.
			delete(c.entries, key)
			found = false
		}
		if !found {
			s = &slot[M]{done: make(chan struct{}), holds: 1}
			c.entries[key] = s
			c.mu.Unlock()
			return c.lead(key, s, build)
		}
		s.holds++
		c.mu.Unlock()
		select {
		case <-s.done:
		case <-ctx.Done():
			c.release(s)
			return Entry[M]{}, nil, ctx.Err()
		}
		if s.ok {
			return s.entry, c.releaser(s), nil
		}
		c.release(s)
	}
}

// lead runs the build of key for slot s and publishes its outcome.
func (c *Cache[M]) lead(key string, s *slot[M], build Build[M]) (e Entry[M], release func(), err error) {
	finished := false
	defer func() {
		c.mu.Lock()
		if finished && err == nil && e.Path != "" {
			s.entry, s.ok = e, true
		} else if c.entries[key] == s {
			delete(c.entries, key)
		}
		c.mu.Unlock()
		close(s.done)
		if !s.ok {
			c.release(s)
			release = func() {}
		}
	}()
	path, meta, err := build()
	e.Meta = meta
	if err == nil && path != "" {
		e, err = c.store(key, path, meta)
	}
	finished = true
	if err != nil {
		return Entry[M]{}, nil, err
	}
	return e, c.releaser(s), nil
}

// store copies the built file into the cache under a name derived from key.
func (c *Cache[M]) store(key, path string, meta M) (Entry[M], error) {
	sum := sha256.Sum256([]byte(key))
	target := filepath.Join(c.dir, hex.EncodeToString(sum[:]))
	src, err := os.Open(path)
	if err != nil {
		return Entry[M]{}, err
	}
	defer src.Close()
	tmp, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return Entry[M]{}, err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), src)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), target)
	}
	if err != nil {
		return Entry[M]{}, fmt.Errorf("failed to store the build in the cache: %w", err)
	}
	return Entry[M]{Path: target, Digest: "sha256:" + hex.EncodeToString(h.Sum(nil)), Size: n, Meta: meta}, nil
}

func (c *Cache[M]) releaser(s *slot[M]) func() {
	var once sync.Once
	return func() { once.Do(func() { c.release(s) }) }
}

func (c *Cache[M]) release(s *slot[M]) {
	c.mu.Lock()
	s.holds--
	c.mu.Unlock()
}

// Prune removes the entries whose file no artifact links to any more and
// that no caller holds, and returns how many it removed. Call it after
// deleting artifacts that may have been links to cached files.
func (c *Cache[M]) Prune() (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	removed := 0
	for key, s := range c.entries {
		if !s.ok || s.holds > 0 || links(s.entry.Path) > 1 {
			continue
		}
		if err := os.Remove(s.entry.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		delete(c.entries, key)
		removed++
	}
	return removed, errors.Join(errs...)
}

// Evict removes the finished entry whose file is the file at path (one of
// its links), held or not, so the next Get of its key builds again: a
// caller that found its artifact damaged on disk must not be handed the
// same damaged file. Other artifacts linked to it keep their link until
// they find the damage themselves.
func (c *Cache[M]) Evict(path string) {
	damaged, err := os.Stat(path)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, s := range c.entries {
		if info, err := os.Stat(s.entry.Path); s.ok && err == nil && os.SameFile(info, damaged) {
			_ = os.Remove(s.entry.Path)
			delete(c.entries, key)
		}
	}
}

// Len returns how many finished builds the cache holds.
func (c *Cache[M]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.entries {
		if s.ok {
			n++
		}
	}
	return n
}

// links returns the number of names of the file at path: 0 when it is gone,
// and 2 (kept) where the filesystem does not say.
func links(path string) uint64 {
	info, err := os.Stat(path)
	if err != nil {
		return 0
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 2
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
