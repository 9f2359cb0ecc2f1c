package fetch

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// tempPrefix starts the name of every download or entry under construction. New
// removes leftovers; lookups never match them because digests are hex.
const tempPrefix = ".tmp-"

// load adopts the entries already in the cache directory, oldest use first, and
// removes temporary files a crashed process left behind.
func (f *Fetcher) load() error {
	entries, err := os.ReadDir(f.cacheDir)
	if err != nil {
		return fmt.Errorf("failed to read artifact cache: %w", err)
	}
	type found struct {
		name string
		mod  time.Time
	}
	var list []found
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			os.RemoveAll(filepath.Join(f.cacheDir, e.Name()))
			continue
		}
		info, err := e.Info()
		if err != nil || !e.IsDir() {
			continue
		}
		list = append(list, found{e.Name(), info.ModTime()})
	}
	slices.SortFunc(list, func(a, b found) int {
		if c := a.mod.Compare(b.mod); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})

	f.mu.Lock()
	for _, e := range list {
		f.tick++
		f.used[e.name] = f.tick
	}
	doomed := f.evictLocked("")
	f.mu.Unlock()
	removeAll(doomed)
	return nil
}

// lookup returns the entry's directory and marks it used if it is in the cache.
func (f *Fetcher) lookup(name string) (string, bool) {
	p := filepath.Join(f.cacheDir, name)
	f.mu.Lock()
	defer f.mu.Unlock()
	info, err := os.Stat(p)
	if err != nil || !info.IsDir() {
		delete(f.used, name)
		return "", false
	}
	f.touchLocked(name)
	return p, true
}

// store moves a completed entry from tmpDir into the cache and evicts the least
// recently used entries beyond the maximum, never the new one.
func (f *Fetcher) store(name, tmpDir string) (string, error) {
	p := filepath.Join(f.cacheDir, name)
	f.mu.Lock()
	var doomed []string
	defer func() {
		f.mu.Unlock()
		removeAll(doomed)
	}()
	if err := os.Rename(tmpDir, p); err != nil {
		os.RemoveAll(tmpDir)
		if info, statErr := os.Stat(p); statErr != nil || !info.IsDir() {
			return "", fmt.Errorf("failed to move artifact into the cache: %w", err)
		}
		// Already there: the content is the same, as the name is its digest.
	}
	f.touchLocked(name)
	doomed = f.evictLocked(name)
	return p, nil
}

// touchLocked records a use. The directory's mtime carries the order across
// restarts; failing to set it only makes a later eviction order less exact.
func (f *Fetcher) touchLocked(name string) {
	f.tick++
	f.used[name] = f.tick
	now := time.Now()
	_ = os.Chtimes(filepath.Join(f.cacheDir, name), now, now)
}

// evictLocked removes least recently used entries from the index until at most
// maxEntries remain, sparing keep. It renames them away while the lock is held, so
// that no lookup can return them, and returns the new paths for the caller to delete
// once the lock is released.
func (f *Fetcher) evictLocked(keep string) []string {
	var doomed []string
	for len(f.used) > f.maxEntries {
		oldest, oldestTick := "", uint64(0)
		for name, tick := range f.used {
			if name == keep {
				continue
			}
			if oldest == "" || tick < oldestTick {
				oldest, oldestTick = name, tick
			}
		}
		if oldest == "" {
			break
		}
		delete(f.used, oldest)
		trash := filepath.Join(f.cacheDir, fmt.Sprintf("%sevicted-%d-%s", tempPrefix, oldestTick, oldest))
		if err := os.Rename(filepath.Join(f.cacheDir, oldest), trash); err == nil {
			doomed = append(doomed, trash)
		}
	}
	return doomed
}

// removeAll deletes evicted entries. A failure leaves a temporary directory that the
// next New removes.
func removeAll(paths []string) {
	for _, p := range paths {
		_ = os.RemoveAll(p)
	}
}
