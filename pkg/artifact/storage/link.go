package storage

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// sharedRoot is the directory under the base path for files that several
// objects' artifacts are hard links to. Kinds are stored under their
// lowercase names, so a name starting with a dot cannot clash with one.
const sharedRoot = ".shared"

// SharedDir returns the directory, under the base path and so on the same
// filesystem as every artifact, where a build cache named name keeps the
// files it links artifacts to. The directory is not created.
func (s *Storage) SharedDir(name string) string {
	return filepath.Join(s.basePath, sharedRoot, filepath.Base("/"+name))
}

// Link stores src as the artifact's file by a hard link, so that many
// objects serve one copy of identical content under their own paths:
// deleting one object's file (its finalizer, garbage collection) leaves the
// others intact, and the content goes when its last link does. src must be
// on the store's filesystem (see SharedDir) and must never be changed in
// place; digest and size are src's, known to the caller that wrote it.
// Where the filesystem refuses hard links, src is copied instead.
//
// Like every write, the link is made under a temporary name and renamed over
// the final one, so a reader sees the old file or the new one.
func (s *Storage) Link(a *meta.Artifact, src, digest string, size int64) error {
	target, err := s.target(*a)
	if err != nil {
		return err
	}
	if same(src, target) {
		// Already this file: renaming a link over itself would do nothing
		// and leave the temporary name behind.
		recordLink(a, digest, size)
		return nil
	}
	dir := filepath.Dir(target)
	// A random name no other writer uses; os.Link refuses one that exists.
	tmp := filepath.Join(dir, tempPrefix+filepath.Base(target)+"-"+rand.Text())
	if err := os.Link(src, tmp); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("failed to link artifact %q: %w", a.Path, err)
		}
		return s.copyFrom(a, src)
	}
	if err := os.Rename(tmp, target); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("failed to move artifact %q into place: %w", a.Path, err)
	}
	syncDir(dir)
	recordLink(a, digest, size)
	return nil
}

// recordLink records on a the digest and size of the file Link stored.
func recordLink(a *meta.Artifact, digest string, size int64) {
	a.Digest = digest
	a.Size = &size
	a.LastUpdateTime = metav1.Now()
}

// copyFrom stores a copy of src, for filesystems without hard links.
func (s *Storage) copyFrom(a *meta.Artifact, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("failed to link artifact %q: %w", a.Path, err)
	}
	defer f.Close()
	return s.CopyFile(a, f)
}

// same reports whether a and b are names of one file.
func same(a, b string) bool {
	ia, err := os.Stat(a)
	if err != nil {
		return false
	}
	ib, err := os.Stat(b)
	return err == nil && os.SameFile(ia, ib)
}
