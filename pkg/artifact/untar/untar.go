// Package untar unpacks tar.gz artifacts downloaded from a source.
//
// An artifact is untrusted input: whoever can publish to the source, or tamper with it
// on the way, controls every header in it. Unpacking therefore refuses anything that
// could write outside the target directory or smuggle in something other than plain
// data: absolute names, names with a `..` element or a backslash, symlinks, hard links,
// devices, FIFOs and any other special entry. Each refusal names the entry so the
// user can find it in the source. A cap on the total uncompressed size stops an
// archive bomb from filling the node's disk.
//
// Everything is written with fixed permissions (0o644, or 0o755 for executables and
// directories); owners and times from the archive are ignored.
package untar

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// DefaultMaxSize is the cap on the total uncompressed size of the files in an archive
// when the caller passes 0.
const DefaultMaxSize int64 = 100 << 20

// ErrTooLarge is wrapped by the error returned when an archive's files add up to more
// than the size cap.
var ErrTooLarge = errors.New("archive exceeds the size limit")

// UnsafeEntryError is returned for an entry that Untar refuses to write. Reason says
// why, in words a user can act on.
type UnsafeEntryError struct {
	Name   string
	Reason string
}

func (e *UnsafeEntryError) Error() string {
	return fmt.Sprintf("refusing to extract archive entry %q: %s", e.Name, e.Reason)
}

// Untar extracts the tar.gz stream r into dir, creating dir if needed.
//
// maxSize caps the sum of the regular files' sizes: 0 means DefaultMaxSize and a
// negative value means no cap. On error, dir may hold a partial tree; callers extract
// into a temporary directory and move it into place only on success.
func Untar(r io.Reader, dir string, maxSize int64) error {
	if maxSize == 0 {
		maxSize = DefaultMaxSize
	}
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("failed to read archive: %w", err)
	}
	defer gz.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	tr := tar.NewReader(gz)
	var total int64
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("failed to read archive: %w", err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			// Metadata for the whole archive (git archive stores the commit here).
			continue
		}
		rel, err := cleanName(hdr.Name)
		if err != nil {
			return err
		}
		if err := checkType(hdr); err != nil {
			return err
		}
		if rel == "" {
			// The archive's root directory itself ("./").
			continue
		}
		target := filepath.Join(dir, filepath.FromSlash(rel))

		if hdr.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return fmt.Errorf("failed to extract %q: %w", hdr.Name, err)
			}
			continue
		}

		if hdr.Size < 0 {
			return &UnsafeEntryError{Name: hdr.Name, Reason: "negative size"}
		}
		total += hdr.Size
		if maxSize > 0 && total > maxSize {
			return fmt.Errorf("%w of %d bytes at entry %q", ErrTooLarge, maxSize, hdr.Name)
		}
		if err := writeFile(tr, target, hdr); err != nil {
			return fmt.Errorf("failed to extract %q: %w", hdr.Name, err)
		}
	}
}

// cleanName validates an entry name and returns it cleaned and relative, with forward
// slashes; "" stands for the root. Any `..` element is refused, even one that would
// stay inside the root once resolved: legitimate archives never need it.
func cleanName(name string) (string, error) {
	switch {
	case name == "":
		return "", &UnsafeEntryError{Name: name, Reason: "empty name"}
	case strings.Contains(name, `\`):
		return "", &UnsafeEntryError{Name: name, Reason: "backslash in name"}
	case strings.HasPrefix(name, "/") || filepath.IsAbs(name) || filepath.VolumeName(name) != "":
		return "", &UnsafeEntryError{Name: name, Reason: "absolute path"}
	case strings.ContainsRune(name, 0):
		return "", &UnsafeEntryError{Name: name, Reason: "NUL byte in name"}
	}
	for _, elem := range strings.Split(name, "/") {
		if elem == ".." {
			return "", &UnsafeEntryError{Name: name, Reason: "path escapes the target directory with '..'"}
		}
	}
	rel := path.Clean(name)
	if rel == "." {
		return "", nil
	}
	return rel, nil
}

// checkType accepts only regular files and directories.
func checkType(hdr *tar.Header) error {
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeDir:
		return nil
	case tar.TypeSymlink:
		return &UnsafeEntryError{Name: hdr.Name, Reason: fmt.Sprintf("symlink to %q", hdr.Linkname)}
	case tar.TypeLink:
		return &UnsafeEntryError{Name: hdr.Name, Reason: fmt.Sprintf("hard link to %q", hdr.Linkname)}
	case tar.TypeChar, tar.TypeBlock:
		return &UnsafeEntryError{Name: hdr.Name, Reason: "device file"}
	case tar.TypeFifo:
		return &UnsafeEntryError{Name: hdr.Name, Reason: "named pipe"}
	default:
		return &UnsafeEntryError{Name: hdr.Name, Reason: fmt.Sprintf("unsupported entry type %q", hdr.Typeflag)}
	}
}

// writeFile writes one regular file, replacing any earlier entry of the same name.
func writeFile(r io.Reader, target string, hdr *tar.Header) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	var mode os.FileMode = 0o644
	if hdr.Mode&0o111 != 0 {
		mode = 0o755
	}
	f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, r, hdr.Size); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
