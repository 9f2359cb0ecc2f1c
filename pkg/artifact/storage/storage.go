// Package storage is the source-controller's artifact store: a directory tree of
// tar.gz files (and single files such as Helm charts) that the artifact server
// publishes over HTTP.
//
// Layout: <base>/<lowercase kind>/<namespace>/<name>/<file>. One directory per object
// lets garbage collection and the finalizer work on an object without touching any
// other, and lets different objects be written in parallel without locks.
//
// Every write goes to a uniquely named temporary file in the destination directory,
// is fsynced, and is renamed over the final name. A reader, including the HTTP server
// handing the file to a consumer, therefore sees either the old file or the complete
// new one, never a partial file whose digest would not match status.artifact.
package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferrycd/ferry/pkg/artifact/archive"
)

// tempPrefix starts the name of every file being written; garbage collection leaves
// young ones alone and the server never lists directories, so they are never seen.
const tempPrefix = ".tmp-"

// Storage stores artifacts under a base directory and knows the address they are
// served from.
type Storage struct {
	basePath       string
	advertisedAddr string
	retention      int
}

// New returns a Storage rooted at basePath, creating it if needed. advertisedAddr is
// the host:port consumers reach the artifact server on and goes into every artifact
// URL. retention is how many artifacts to keep per object, the current one included;
// values below 1 mean 1.
func New(basePath, advertisedAddr string, retention int) (*Storage, error) {
	if basePath == "" {
		return nil, errors.New("storage base path must not be empty")
	}
	if advertisedAddr == "" {
		return nil, errors.New("storage advertised address must not be empty")
	}
	abs, err := filepath.Abs(basePath)
	if err != nil {
		return nil, fmt.Errorf("invalid storage base path %q: %w", basePath, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("failed to create storage base path: %w", err)
	}
	if retention < 1 {
		retention = 1
	}
	return &Storage{basePath: abs, advertisedAddr: advertisedAddr, retention: retention}, nil
}

// BasePath returns the absolute directory artifacts are stored under, for the server.
func (s *Storage) BasePath() string {
	return s.basePath
}

// NewArtifact returns the artifact an object's next file will be stored as: its
// relative Path, its URL on the artifact server and its Revision. Digest, Size and
// LastUpdateTime are filled in by Archive or CopyFile.
func (s *Storage) NewArtifact(kind, namespace, name, revision, fileName string) meta.Artifact {
	p := path.Join(strings.ToLower(kind), namespace, name, fileName)
	u := url.URL{Scheme: "http", Host: s.advertisedAddr, Path: "/" + p}
	return meta.Artifact{
		Path:     p,
		URL:      u.String(),
		Revision: revision,
	}
}

// LocalPath returns the file the artifact is stored in. The artifact's Path is joined
// under the base path so that neither `..` elements nor symlinks inside the store
// can make it point outside.
func (s *Storage) LocalPath(a meta.Artifact) string {
	p, err := securejoin.SecureJoin(s.basePath, a.Path)
	if err != nil {
		// SecureJoin fails only on unreadable paths or symlink loops. A lexical join
		// of the cleaned, rooted path still cannot escape the base path.
		return filepath.Join(s.basePath, filepath.Clean("/"+filepath.FromSlash(a.Path)))
	}
	return p
}

// Archive builds a deterministic tar.gz of dir (see package archive), stores it as
// the artifact's file and records its digest, size and update time on a.
func (s *Storage) Archive(a *meta.Artifact, dir string, filter archive.Filter) error {
	return s.write(a, func(w io.Writer) error {
		return archive.Build(w, dir, filter)
	})
}

// CopyFile stores the contents of src as the artifact's file, for artifacts that come
// ready-made such as a packaged Helm chart or a repository index, and records the
// digest, size and update time on a.
func (s *Storage) CopyFile(a *meta.Artifact, src io.Reader) error {
	return s.write(a, func(w io.Writer) error {
		_, err := io.Copy(w, src)
		return err
	})
}

// write runs fill against a temporary file next to the artifact's file, then makes
// the result durable and moves it into place.
func (s *Storage) write(a *meta.Artifact, fill func(io.Writer) error) (err error) {
	target, err := s.target(*a)
	if err != nil {
		return err
	}
	dir := filepath.Dir(target)
	tmp, err := os.CreateTemp(dir, tempPrefix+filepath.Base(target)+"-*")
	if err != nil {
		return fmt.Errorf("failed to create temporary artifact file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()

	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(tmp, h)}
	if err := fill(cw); err != nil {
		return fmt.Errorf("failed to write artifact %q: %w", a.Path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("failed to write artifact %q: %w", a.Path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("failed to sync artifact %q: %w", a.Path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("failed to write artifact %q: %w", a.Path, err)
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return fmt.Errorf("failed to move artifact %q into place: %w", a.Path, err)
	}
	syncDir(dir)

	size := cw.n
	a.Digest = formatDigest(h)
	a.Size = &size
	a.LastUpdateTime = metav1.Now()
	return nil
}

// target returns the artifact's file after checking that the path names a
// file and creating its directory.
func (s *Storage) target(a meta.Artifact) (string, error) {
	target := s.LocalPath(a)
	if target == s.basePath || strings.HasSuffix(a.Path, "/") {
		return "", fmt.Errorf("invalid artifact path %q", a.Path)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return "", fmt.Errorf("failed to create artifact directory: %w", err)
	}
	return target, nil
}

// Exists reports whether the artifact's file is present.
func (s *Storage) Exists(a meta.Artifact) bool {
	info, err := os.Stat(s.LocalPath(a))
	return err == nil && info.Mode().IsRegular()
}

// Verify checks that the artifact's file exists and that its sha256 equals
// a.Digest, so that a reconciler can tell a stored artifact that is still good from
// one that was lost (an emptyDir after a restart) or damaged, and rebuild it.
func (s *Storage) Verify(a meta.Artifact) error {
	algo, want, ok := strings.Cut(a.Digest, ":")
	if !ok || algo != "sha256" {
		return fmt.Errorf("artifact %q has unsupported digest %q: expected sha256:<hex>", a.Path, a.Digest)
	}
	f, err := os.Open(s.LocalPath(a))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("artifact %q is not in storage", a.Path)
	}
	if err != nil {
		return fmt.Errorf("failed to open artifact %q: %w", a.Path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("failed to read artifact %q: %w", a.Path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != strings.ToLower(want) {
		return fmt.Errorf("artifact %q does not match its digest: expected %s, got sha256:%s", a.Path, a.Digest, got)
	}
	return nil
}

// RemoveAll deletes everything stored for one object. The finalizer calls it when
// the object is deleted.
func (s *Storage) RemoveAll(kind, namespace, name string) error {
	for _, part := range []string{kind, namespace, name} {
		if part == "" || part == "." || part == ".." || strings.ContainsAny(part, `/\`) {
			return fmt.Errorf("invalid object reference %s/%s/%s", kind, namespace, name)
		}
	}
	dir, err := securejoin.SecureJoin(s.basePath, path.Join(strings.ToLower(kind), namespace, name))
	if err != nil {
		return fmt.Errorf("failed to resolve artifact directory: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("failed to remove artifacts of %s %s/%s: %w", kind, namespace, name, err)
	}
	return nil
}

// formatDigest renders a sha256 as the status.artifact.digest string.
func formatDigest(h hash.Hash) string {
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// syncDir makes a rename durable. Failure only weakens crash safety, and some
// filesystems do not support it, so it is not reported.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
