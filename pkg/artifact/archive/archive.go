// Package archive builds the tar.gz artifacts that the source-controller serves.
//
// The output is deterministic: the same tree always yields the same bytes, and so the
// same sha256 digest, whatever the files' modification times, owners or permission
// bits beyond the executable bit. That matters because the digest is what consumers
// compare and cache by: a digest that changed when no content changed would make every
// applier download, unpack and re-apply an artifact for nothing, for instance after a
// source-controller restart re-clones a repository with fresh mtimes.
//
// Only regular files and directories are archived. Symlinks are skipped rather than
// followed or stored, because a stored link can point outside the tree on the consumer
// side and a followed one can pull in files from outside the tree on this side.
package archive

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Filter decides which entries to leave out of an archive. It receives the path
// relative to the archived directory, with forward slashes, and whether the entry is a
// directory; it returns true to exclude the entry. Excluding a directory excludes
// everything below it. A nil Filter includes everything. Ignore rules such as
// `.git` or `spec.ignore` belong to the caller's Filter, not to this package.
type Filter func(relPath string, isDir bool) bool

// epoch is the modification time written for every entry, so that mtimes never reach
// the digest.
var epoch = time.Unix(0, 0).UTC()

// Build writes a deterministic gzip-compressed tar of dir to w.
//
// Entries appear in lexical walk order (each directory's entries sorted by name,
// parents before children). Headers carry no owner, group, user or group names, and a
// zero modification time; files get mode 0o755 when any executable bit is set and
// 0o644 otherwise, directories 0o755. The gzip header has no name and no time.
func Build(w io.Writer, dir string, filter Filter) error {
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("failed to archive %q: %w", dir, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("failed to archive %q: not a directory", dir)
	}

	gz, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)

	walkErr := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		isDir := d.IsDir()
		if filter != nil && filter(rel, isDir) {
			if isDir {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case isDir:
			return tw.WriteHeader(header(rel+"/", tar.TypeDir, 0o755, 0))
		case d.Type().IsRegular():
			return writeFile(tw, p, rel)
		default:
			// Symlinks, sockets, devices and pipes have no place in an artifact.
			return nil
		}
	})
	if walkErr != nil {
		return fmt.Errorf("failed to archive %q: %w", dir, walkErr)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("failed to archive %q: %w", dir, err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("failed to archive %q: %w", dir, err)
	}
	return nil
}

// writeFile appends one regular file. The size is taken from the open file, and
// exactly that many bytes are copied, so a file that changes while it is being read
// fails the build instead of producing a corrupt entry.
func writeFile(tw *tar.Writer, path, rel string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		// Replaced by something else since the walk saw it.
		return nil
	}
	var mode int64 = 0o644
	if info.Mode().Perm()&0o111 != 0 {
		mode = 0o755
	}
	if err := tw.WriteHeader(header(rel, tar.TypeReg, mode, info.Size())); err != nil {
		return err
	}
	if _, err := io.CopyN(tw, f, info.Size()); err != nil {
		return fmt.Errorf("failed to read %q: %w", rel, err)
	}
	return nil
}

// header returns a tar header that holds nothing but name, type, mode and size.
func header(name string, typ byte, mode, size int64) *tar.Header {
	return &tar.Header{
		Typeflag: typ,
		Name:     name,
		Mode:     mode,
		Size:     size,
		ModTime:  epoch,
		Format:   tar.FormatPAX,
	}
}
