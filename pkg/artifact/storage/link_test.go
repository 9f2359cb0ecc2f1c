package storage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

func TestLinkSharesOneFileAcrossObjects(t *testing.T) {
	g := NewWithT(t)
	s := newStorage(t, 1)
	shared := s.SharedDir("charts")
	g.Expect(shared).To(HavePrefix(s.BasePath() + string(filepath.Separator)))
	g.Expect(os.MkdirAll(shared, 0o755)).To(Succeed())
	src := filepath.Join(shared, "app.tgz")
	g.Expect(os.WriteFile(src, []byte("chart"), 0o644)).To(Succeed())

	a := s.NewArtifact("HelmChart", "ns", "one", "1.0.0", "app-1.0.0.tgz")
	b := s.NewArtifact("HelmChart", "ns", "two", "1.0.0", "app-1.0.0.tgz")
	g.Expect(s.Link(&a, src, "sha256:x", 5)).To(Succeed())
	g.Expect(s.Link(&b, src, "sha256:x", 5)).To(Succeed())
	g.Expect(a.Digest).To(Equal("sha256:x"))
	g.Expect(*b.Size).To(Equal(int64(5)))
	g.Expect(same(s.LocalPath(a), src)).To(BeTrue(), "the artifact is a hard link, not a copy")
	g.Expect(same(s.LocalPath(b), src)).To(BeTrue())

	// Linking the same file again leaves no temporary name behind.
	g.Expect(s.Link(&a, src, "sha256:x", 5)).To(Succeed())
	g.Expect(tempFiles(t, s.BasePath())).To(BeEmpty())

	// One object's finalizer leaves the other's file and the source intact.
	g.Expect(s.RemoveAll("HelmChart", "ns", "one")).To(Succeed())
	data, err := os.ReadFile(s.LocalPath(b))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(data)).To(Equal("chart"))

	// A new artifact written over a link replaces the name, not the shared
	// content.
	g.Expect(s.CopyFile(&b, strings.NewReader("other"))).To(Succeed())
	data, err = os.ReadFile(src)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(data)).To(Equal("chart"))
}

func TestLinkMissingSource(t *testing.T) {
	g := NewWithT(t)
	s := newStorage(t, 1)
	a := s.NewArtifact("HelmChart", "ns", "one", "1.0.0", "app-1.0.0.tgz")
	g.Expect(s.Link(&a, filepath.Join(t.TempDir(), "absent.tgz"), "sha256:x", 1)).NotTo(Succeed())
	g.Expect(s.Exists(a)).To(BeFalse())
	g.Expect(tempFiles(t, s.BasePath())).To(BeEmpty())
}
