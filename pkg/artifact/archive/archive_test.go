package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// file describes one fixture file: its content and permission bits.
type file struct {
	content string
	mode    os.FileMode
}

// writeTree creates the files under root in the given order, creating parents.
func writeTree(t *testing.T, root string, order []string, files map[string]file) {
	t.Helper()
	for _, name := range order {
		f := files[name]
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.content), f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
	}
}

// build returns the archive of dir.
func build(t *testing.T, dir string, filter Filter) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Build(&buf, dir, filter); err != nil {
		t.Fatalf("Build: %v", err)
	}
	return buf.Bytes()
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// entry is what the tests check of one tar header.
type entry struct {
	name string
	typ  byte
	mode int64
	body string
}

// list reads an archive back.
func list(t *testing.T, b []byte) ([]entry, []*tar.Header) {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var entries []entry
	var headers []*tar.Header
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, entry{name: h.Name, typ: h.Typeflag, mode: h.Mode, body: string(body)})
		headers = append(headers, h)
	}
	return entries, headers
}

var fixture = map[string]file{
	"README.md":            {"hello\n", 0o644},
	"deploy/app.yaml":      {"kind: Deployment\n", 0o644},
	"deploy/nested/x.yaml": {"kind: Service\n", 0o600},
	"scripts/run.sh":       {"#!/bin/sh\n", 0o755},
	"a.txt":                {"a", 0o644},
	"a/b.txt":              {"b", 0o644},
}

func TestBuildIsDeterministicAcrossCopies(t *testing.T) {
	g := NewWithT(t)
	one, two := t.TempDir(), t.TempDir()
	writeTree(t, one, []string{"README.md", "deploy/app.yaml", "deploy/nested/x.yaml", "scripts/run.sh", "a.txt", "a/b.txt"}, fixture)
	writeTree(t, two, []string{"a/b.txt", "scripts/run.sh", "deploy/nested/x.yaml", "a.txt", "deploy/app.yaml", "README.md"}, fixture)

	// Make everything but the content and the executable bit differ in the second copy.
	other := map[string]os.FileMode{"README.md": 0o600, "deploy/nested/x.yaml": 0o664, "scripts/run.sh": 0o700}
	for name, mode := range other {
		g.Expect(os.Chmod(filepath.Join(two, name), mode)).To(Succeed())
	}
	g.Expect(os.Chmod(filepath.Join(two, "deploy"), 0o700)).To(Succeed())
	past := time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC)
	for name := range fixture {
		g.Expect(os.Chtimes(filepath.Join(two, name), past, past)).To(Succeed())
	}
	g.Expect(os.Chtimes(filepath.Join(two, "deploy"), past, past)).To(Succeed())
	if os.Geteuid() == 0 {
		for name := range fixture {
			g.Expect(os.Lchown(filepath.Join(two, name), 1234, 5678)).To(Succeed())
		}
	}

	first, second := build(t, one, nil), build(t, two, nil)
	g.Expect(digest(second)).To(Equal(digest(first)))
	g.Expect(bytes.Equal(first, second)).To(BeTrue())
	g.Expect(build(t, one, nil)).To(Equal(first), "rebuilding the same tree")
}

func TestBuildEntries(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	writeTree(t, dir, []string{"README.md", "deploy/app.yaml", "deploy/nested/x.yaml", "scripts/run.sh", "a.txt", "a/b.txt"}, fixture)
	g.Expect(os.Symlink("README.md", filepath.Join(dir, "link.md"))).To(Succeed())
	g.Expect(os.Symlink("/etc", filepath.Join(dir, "etc"))).To(Succeed())

	b := build(t, dir, nil)
	entries, headers := list(t, b)
	g.Expect(entries).To(Equal([]entry{
		{"README.md", tar.TypeReg, 0o644, "hello\n"},
		{"a/", tar.TypeDir, 0o755, ""},
		{"a/b.txt", tar.TypeReg, 0o644, "b"},
		{"a.txt", tar.TypeReg, 0o644, "a"},
		{"deploy/", tar.TypeDir, 0o755, ""},
		{"deploy/app.yaml", tar.TypeReg, 0o644, "kind: Deployment\n"},
		{"deploy/nested/", tar.TypeDir, 0o755, ""},
		{"deploy/nested/x.yaml", tar.TypeReg, 0o644, "kind: Service\n"},
		{"scripts/", tar.TypeDir, 0o755, ""},
		{"scripts/run.sh", tar.TypeReg, 0o755, "#!/bin/sh\n"},
	}))
	for _, h := range headers {
		g.Expect(h.Uid).To(BeZero(), h.Name)
		g.Expect(h.Gid).To(BeZero(), h.Name)
		g.Expect(h.Uname).To(BeEmpty(), h.Name)
		g.Expect(h.Gname).To(BeEmpty(), h.Name)
		g.Expect(h.ModTime.Unix()).To(BeZero(), h.Name)
		g.Expect(h.PAXRecords).To(BeEmpty(), h.Name)
	}

	gz, err := gzip.NewReader(bytes.NewReader(b))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(gz.Name).To(BeEmpty())
	g.Expect(gz.Comment).To(BeEmpty())
	g.Expect(gz.ModTime.IsZero()).To(BeTrue())
}

func TestBuildLongNames(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	long := strings.Repeat("d", 120) + "/" + strings.Repeat("f", 150) + ".yaml"
	writeTree(t, dir, []string{long}, map[string]file{long: {"x", 0o644}})
	entries, _ := list(t, build(t, dir, nil))
	g.Expect(entries).To(HaveLen(2))
	g.Expect(entries[1].name).To(Equal(long))
	g.Expect(build(t, dir, nil)).To(Equal(build(t, dir, nil)))
}

func TestBuildFilter(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, []string{"README.md", "deploy/app.yaml", "deploy/nested/x.yaml", "scripts/run.sh", "a.txt", "a/b.txt", ".git/HEAD"},
		map[string]file{
			"README.md": {"r", 0o644}, "deploy/app.yaml": {"d", 0o644}, "deploy/nested/x.yaml": {"x", 0o644},
			"scripts/run.sh": {"s", 0o755}, "a.txt": {"a", 0o644}, "a/b.txt": {"b", 0o644}, ".git/HEAD": {"ref", 0o644},
		})

	tests := []struct {
		name   string
		filter Filter
		want   []string
	}{
		{
			name: "nil includes everything",
			want: []string{".git/", ".git/HEAD", "README.md", "a/", "a/b.txt", "a.txt", "deploy/", "deploy/app.yaml",
				"deploy/nested/", "deploy/nested/x.yaml", "scripts/", "scripts/run.sh"},
		},
		{
			name:   "excluding a directory excludes its contents",
			filter: func(p string, isDir bool) bool { return isDir && p == ".git" },
			want: []string{"README.md", "a/", "a/b.txt", "a.txt", "deploy/", "deploy/app.yaml",
				"deploy/nested/", "deploy/nested/x.yaml", "scripts/", "scripts/run.sh"},
		},
		{
			name:   "nested paths use forward slashes",
			filter: func(p string, _ bool) bool { return p == "deploy/nested" || strings.HasPrefix(p, ".git") },
			want:   []string{"README.md", "a/", "a/b.txt", "a.txt", "deploy/", "deploy/app.yaml", "scripts/", "scripts/run.sh"},
		},
		{
			name:   "files only",
			filter: func(p string, isDir bool) bool { return !isDir && !strings.HasSuffix(p, ".yaml") },
			want:   []string{".git/", "a/", "deploy/", "deploy/app.yaml", "deploy/nested/", "deploy/nested/x.yaml", "scripts/"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			entries, _ := list(t, build(t, dir, tt.filter))
			var names []string
			for _, e := range entries {
				names = append(names, e.name)
			}
			g.Expect(names).To(Equal(tt.want))
		})
	}
}

func TestBuildDigestFollowsContent(t *testing.T) {
	tests := []struct {
		name   string
		change func(dir string) error
	}{
		{"content", func(dir string) error { return os.WriteFile(filepath.Join(dir, "a.txt"), []byte("A"), 0o644) }},
		{"executable bit", func(dir string) error { return os.Chmod(filepath.Join(dir, "a.txt"), 0o744) }},
		{"new empty dir", func(dir string) error { return os.Mkdir(filepath.Join(dir, "empty"), 0o755) }},
		{"rename", func(dir string) error { return os.Rename(filepath.Join(dir, "a.txt"), filepath.Join(dir, "c.txt")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			dir := t.TempDir()
			writeTree(t, dir, []string{"a.txt", "a/b.txt"}, fixture)
			before := digest(build(t, dir, nil))
			g.Expect(tt.change(dir)).To(Succeed())
			g.Expect(digest(build(t, dir, nil))).NotTo(Equal(before))
		})
	}
}

func TestBuildErrors(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	regular := filepath.Join(dir, "file")
	g.Expect(os.WriteFile(regular, nil, 0o644)).To(Succeed())

	var buf bytes.Buffer
	g.Expect(Build(&buf, filepath.Join(dir, "missing"), nil)).To(MatchError(ContainSubstring("no such file")))
	g.Expect(Build(&buf, regular, nil)).To(MatchError(ContainSubstring("not a directory")))
}
