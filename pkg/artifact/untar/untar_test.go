package untar

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

// item is one entry of a crafted archive.
type item struct {
	hdr  tar.Header
	body string
}

// reg, dir and link build the common headers.
func reg(name, body string, mode int64) item {
	return item{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body))}, body: body}
}

func dir(name string) item {
	return item{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755}}
}

func special(typ byte, name, linkname string) item {
	return item{hdr: tar.Header{Typeflag: typ, Name: name, Linkname: linkname, Mode: 0o644}}
}

// craft writes the items as a tar.gz exactly as given, bypassing any checks of
// a well-behaved archiver.
func craft(t *testing.T, items ...item) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, it := range items {
		h := it.hdr
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("header %q: %v", h.Name, err)
		}
		if _, err := tw.Write([]byte(it.body)); err != nil {
			t.Fatalf("body %q: %v", h.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestUntarRejectsUnsafeEntries(t *testing.T) {
	tests := []struct {
		name   string
		item   item
		reason string
	}{
		{"absolute path", reg("/etc/cron.d/evil", "x", 0o644), "absolute path"},
		{"parent escape", reg("../evil", "x", 0o644), "'..'"},
		{"nested escape", reg("a/../../evil", "x", 0o644), "'..'"},
		{"dot-dot that stays inside", reg("a/../b", "x", 0o644), "'..'"},
		{"dot-dot directory", dir("../up/"), "'..'"},
		{"backslash escape", reg(`..\evil`, "x", 0o644), "backslash"},
		{"symlink", special(tar.TypeSymlink, "link", "/etc/passwd"), "symlink to \"/etc/passwd\""},
		{"relative symlink", special(tar.TypeSymlink, "a/link", "../../.."), "symlink"},
		{"hard link", special(tar.TypeLink, "hard", "/etc/shadow"), "hard link to \"/etc/shadow\""},
		{"char device", special(tar.TypeChar, "dev/null", ""), "device file"},
		{"block device", special(tar.TypeBlock, "dev/sda", ""), "device file"},
		{"fifo", special(tar.TypeFifo, "pipe", ""), "named pipe"},
		{"unknown type", special('Z', "odd", ""), "unsupported entry type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			parent := t.TempDir()
			target := filepath.Join(parent, "out")
			archive := craft(t, reg("ok.yaml", "fine", 0o644), tt.item)

			err := Untar(bytes.NewReader(archive), target, 0)
			g.Expect(err).To(HaveOccurred())
			var unsafe *UnsafeEntryError
			g.Expect(errors.As(err, &unsafe)).To(BeTrue(), err.Error())
			g.Expect(unsafe.Name).To(Equal(tt.item.hdr.Name))
			g.Expect(err.Error()).To(ContainSubstring(fmt.Sprintf("%q", tt.item.hdr.Name)))
			g.Expect(err.Error()).To(ContainSubstring(tt.reason))

			// Nothing was written outside the target directory.
			entries, readErr := os.ReadDir(parent)
			g.Expect(readErr).NotTo(HaveOccurred())
			g.Expect(entries).To(HaveLen(1))
			g.Expect(entries[0].Name()).To(Equal("out"))
		})
	}
}

func TestUntarSizeCap(t *testing.T) {
	body := strings.Repeat("x", 600)
	tests := []struct {
		name    string
		maxSize int64
		items   []item
		wantErr bool
	}{
		{"under the cap", 1000, []item{reg("a", body, 0o644)}, false},
		{"exactly the cap", 1200, []item{reg("a", body, 0o644), reg("b", body, 0o644)}, false},
		{"total over the cap", 1000, []item{reg("a", body, 0o644), reg("b", body, 0o644)}, true},
		{"single file over the cap", 599, []item{reg("a", body, 0o644)}, true},
		{"negative means unlimited", -1, []item{reg("a", body, 0o644), reg("b", body, 0o644)}, false},
		{"directories do not count", 600, []item{dir("d/"), dir("e/"), reg("d/a", body, 0o644)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			err := Untar(bytes.NewReader(craft(t, tt.items...)), t.TempDir(), tt.maxSize)
			if !tt.wantErr {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(MatchError(ErrTooLarge))
			g.Expect(err.Error()).To(ContainSubstring(`entry "`))
		})
	}
}

func TestUntarDefaultCapReadsHeaderOnly(t *testing.T) {
	g := NewWithT(t)
	// A header that claims more than the default cap; the body is never needed
	// because the cap is checked before anything is written.
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	g.Expect(tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "bomb", Mode: 0o644, Size: DefaultMaxSize + 1})).To(Succeed())
	g.Expect(tw.Flush()).NotTo(Succeed()) // the body is missing on purpose
	g.Expect(gz.Close()).To(Succeed())

	target := t.TempDir()
	err := Untar(&buf, target, 0)
	g.Expect(err).To(MatchError(ErrTooLarge))
	g.Expect(err.Error()).To(ContainSubstring(`"bomb"`))
	g.Expect(filepath.Join(target, "bomb")).NotTo(BeAnExistingFile())
}

func TestUntarGoodArchive(t *testing.T) {
	g := NewWithT(t)
	archive := craft(t,
		item{hdr: tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header",
			PAXRecords: map[string]string{"comment": "0123456789abcdef"}}},
		dir("./"),
		dir("./deploy/"),
		reg("./deploy/app.yaml", "kind: Deployment\n", 0o600),
		reg("nested/without/parent.yaml", "kind: Service\n", 0o640),
		reg("bin/run.sh", "#!/bin/sh\n", 0o700),
		reg("dup.txt", "first version that is longer", 0o644),
		reg("dup.txt", "second", 0o644),
		reg("empty", "", 0o644),
	)
	target := filepath.Join(t.TempDir(), "new", "dir")
	g.Expect(Untar(bytes.NewReader(archive), target, 0)).To(Succeed())

	files := map[string]struct {
		body string
		mode os.FileMode
	}{
		"deploy/app.yaml":            {"kind: Deployment\n", 0o644},
		"nested/without/parent.yaml": {"kind: Service\n", 0o644},
		"bin/run.sh":                 {"#!/bin/sh\n", 0o755},
		"dup.txt":                    {"second", 0o644},
		"empty":                      {"", 0o644},
	}
	for name, want := range files {
		p := filepath.Join(target, name)
		body, err := os.ReadFile(p)
		g.Expect(err).NotTo(HaveOccurred(), name)
		g.Expect(string(body)).To(Equal(want.body), name)
		info, err := os.Stat(p)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(info.Mode().Perm()).To(Equal(want.mode), name)
	}
	g.Expect(filepath.Join(target, "pax_global_header")).NotTo(BeAnExistingFile())
	g.Expect(filepath.Join(target, "nested", "without")).To(BeADirectory())
}

func TestUntarMalformedInput(t *testing.T) {
	good := craft(t, reg("a.yaml", strings.Repeat("a", 4096), 0o644))
	tests := []struct {
		name  string
		input []byte
		want  string
	}{
		{"not gzip", []byte("plain text"), "failed to read archive"},
		{"empty", nil, "failed to read archive"},
		{"truncated", good[:len(good)/2], ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			err := Untar(bytes.NewReader(tt.input), t.TempDir(), 0)
			g.Expect(err).To(HaveOccurred())
			g.Expect(err.Error()).To(ContainSubstring(tt.want))
		})
	}
}
