package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
)

// tempGrace is how long a temporary file is presumed to be a write in progress.
// Older ones are leftovers of a crash and are deleted.
const tempGrace = time.Minute

// GarbageCollect deletes an object's old artifacts so that storage does not grow with
// every new revision. In the current artifact's directory it keeps the current file
// and the newest retention-1 others by modification time, so that a consumer that has
// not yet seen the new status can still download the previous artifact. It returns
// the local paths it deleted.
func (s *Storage) GarbageCollect(current meta.Artifact) ([]string, error) {
	target := s.LocalPath(current)
	if target == s.basePath {
		return nil, fmt.Errorf("invalid artifact path %q", current.Path)
	}
	dir := filepath.Dir(target)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to list artifacts in %q: %w", dir, err)
	}

	type candidate struct {
		path    string
		modTime time.Time
	}
	var others []candidate
	var deleted []string
	var errs []error
	remove := func(p string) {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			return
		}
		deleted = append(deleted, p)
	}

	now := time.Now()
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if !e.Type().IsRegular() || p == target {
			continue
		}
		info, err := e.Info()
		if err != nil {
			// Removed since the listing.
			continue
		}
		if strings.HasPrefix(e.Name(), tempPrefix) {
			if now.Sub(info.ModTime()) > tempGrace {
				remove(p)
			}
			continue
		}
		others = append(others, candidate{path: p, modTime: info.ModTime()})
	}

	// Newest first; the name breaks ties so that the outcome does not depend on the
	// order of the listing.
	slices.SortFunc(others, func(a, b candidate) int {
		if c := b.modTime.Compare(a.modTime); c != 0 {
			return c
		}
		return strings.Compare(b.path, a.path)
	})
	keep := s.retention - 1
	for i, c := range others {
		if i >= keep {
			remove(c.path)
		}
	}
	slices.Sort(deleted)
	return deleted, errors.Join(errs...)
}
