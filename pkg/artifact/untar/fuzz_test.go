package untar

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzMaxSize is the size cap the fuzzer extracts with: small, so a
// header that claims a huge size is refused before anything is read.
const fuzzMaxSize = 1 << 16

// fuzzTypes are the entry types the fuzzer picks from: the two Untar
// writes and every one it must refuse.
var fuzzTypes = []byte{
	tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeChar,
	tar.TypeBlock, tar.TypeFifo, tar.TypeCont, tar.TypeXGlobalHeader, tar.TypeGNUSparse, 'Z',
}

// FuzzUntar builds an archive from fuzzed entries (one name per line of
// names, the entry type picked by the matching byte of types, every file
// holding body) and extracts it into a root inside a private directory.
// Whatever the input: nothing panics, nothing is written outside the root,
// nothing but regular files and directories is created, an entry that is
// a link, a special file, absolute or has a ".." element makes Untar fail,
// and the files written never add up to more than the cap. The seed corpus
// is in testdata/fuzz.
func FuzzUntar(f *testing.F) {
	f.Add("a.yaml\nsub/\nsub/b.yaml", []byte{0, 1, 0}, []byte("kind: ConfigMap\n"))
	f.Add("../evil", []byte{0}, []byte("x"))
	f.Add("link\nlink/x", []byte{2, 0}, []byte("x"))
	f.Add("/etc/passwd", []byte{0}, []byte("x"))

	f.Fuzz(func(t *testing.T, names string, types []byte, body []byte) {
		var entries []tar.Header
		for i, name := range strings.Split(names, "\n") {
			var typ byte = tar.TypeReg
			if i < len(types) {
				typ = fuzzTypes[int(types[i])%len(fuzzTypes)]
			}
			hdr := tar.Header{Typeflag: typ, Name: name, Mode: 0o644, Linkname: "/etc/passwd"}
			if typ == tar.TypeReg {
				hdr.Size = int64(len(body))
			}
			entries = append(entries, hdr)
		}
		archive, written := buildArchive(entries, body)

		parent := t.TempDir()
		root := filepath.Join(parent, "root")
		err := Untar(bytes.NewReader(archive), root, fuzzMaxSize)

		if err == nil {
			for _, hdr := range written {
				if reason := mustRefuse(hdr); reason != "" {
					t.Fatalf("Untar accepted entry %q (%s)", hdr.Name, reason)
				}
			}
		} else if errors.Is(err, ErrTooLarge) && int64(len(body)) == 0 {
			t.Fatalf("size cap hit by an archive of empty files: %v", err)
		}
		checkTree(t, parent, root)
	})
}

// buildArchive writes the entries as a tar.gz, leaving out those the tar
// writer itself refuses; it returns the archive and the entries in it.
func buildArchive(entries []tar.Header, body []byte) ([]byte, []tar.Header) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	var written []tar.Header
	for _, hdr := range entries {
		h := hdr
		if err := tw.WriteHeader(&h); err != nil {
			// The writer is left unusable after a failed header.
			break
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(body); err != nil {
				break
			}
		}
		written = append(written, hdr)
	}
	_ = tw.Close()
	_ = gz.Close()
	return buf.Bytes(), written
}

// mustRefuse says why Untar has to reject hdr, or "" when it may write it.
func mustRefuse(hdr tar.Header) string {
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeDir, tar.TypeXGlobalHeader:
	default:
		return "type " + string(hdr.Typeflag)
	}
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return ""
	}
	switch {
	case hdr.Name == "":
		return "empty name"
	case strings.HasPrefix(hdr.Name, "/"):
		return "absolute"
	case strings.Contains(hdr.Name, `\`):
		return "backslash"
	}
	for _, elem := range strings.Split(hdr.Name, "/") {
		if elem == ".." {
			return "dot-dot"
		}
	}
	return ""
}

// checkTree fails unless parent holds only root and root holds only
// regular files and directories whose sizes add up to at most the cap.
func checkTree(t *testing.T, parent, root string) {
	t.Helper()
	var total int64
	err := filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == parent {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			t.Fatalf("Untar wrote %q outside its root", p)
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case info.Mode().IsRegular():
			total += info.Size()
		case info.IsDir():
		default:
			t.Fatalf("Untar created %q of mode %v", p, info.Mode())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total > fuzzMaxSize {
		t.Fatalf("Untar wrote %d bytes past the cap of %d", total, fuzzMaxSize)
	}
}
