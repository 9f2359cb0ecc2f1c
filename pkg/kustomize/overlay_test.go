package kustomize

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
)

func TestOverlay(t *testing.T) {
	g := NewWithT(t)
	root := writeTree(t, map[string]string{
		"a/one.yaml":    "1",
		"a/two.yml":     "2",
		"a/.hidden.yml": "h",
		"b/c/three.txt": "3",
	})
	outside := writeTree(t, map[string]string{"secret": "s3cr3t"})
	g.Expect(os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "a", "escape"))).To(Succeed())
	g.Expect(os.Symlink("../b/c/three.txt", filepath.Join(root, "a", "inside"))).To(Succeed())
	before := snapshot(t, root)
	o := newOverlay(root)

	// Reads see the artifact as "/", relative paths and ".." included.
	g.Expect(o.ReadFile("/a/one.yaml")).To(Equal([]byte("1")))
	g.Expect(o.ReadFile("a/../a/two.yml")).To(Equal([]byte("2")))
	g.Expect(o.ReadFile("/../../a/one.yaml")).To(Equal([]byte("1")))
	g.Expect(o.ReadFile("/a/inside")).To(Equal([]byte("3")))

	// Nothing outside the artifact is reachable, and errors show virtual
	// paths only.
	_, err := o.ReadFile("/a/escape")
	g.Expect(err).To(MatchError(fs.ErrNotExist))
	g.Expect(err.Error()).NotTo(ContainSubstring(root))
	_, err = o.ReadFile(filepath.Join(outside, "secret"))
	g.Expect(err).To(MatchError(fs.ErrNotExist))
	g.Expect(o.Exists("/etc/passwd")).To(BeFalse())

	// Writes stay in memory, shadow the artifact and show up in listings.
	g.Expect(o.WriteFile("/a/one.yaml", []byte("changed"))).To(Succeed())
	g.Expect(o.WriteFile("/a/new/deep.yaml", []byte("new"))).To(Succeed())
	g.Expect(o.ReadFile("/a/one.yaml")).To(Equal([]byte("changed")))
	g.Expect(o.IsDir("/a/new")).To(BeTrue())
	g.Expect(o.ReadDir("/a")).To(Equal([]string{".hidden.yml", "escape", "inside", "new", "one.yaml", "two.yml"}))
	f, err := o.Create("/a/created")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = f.Write([]byte("via Create"))
	g.Expect(err).NotTo(HaveOccurred())
	f, err = o.Open("/a/created")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(io.ReadAll(f)).To(Equal([]byte("via Create")))
	g.Expect(o.MkdirAll("/x/y")).To(Succeed())
	g.Expect(o.IsDir("/x/y")).To(BeTrue())

	// The artifact cannot be removed; in-memory files can.
	g.Expect(o.RemoveAll("/a/two.yml")).To(MatchError(fs.ErrPermission))
	g.Expect(o.RemoveAll("/a/new")).To(Succeed())
	g.Expect(o.Exists("/a/new/deep.yaml")).To(BeFalse())

	// CleanedAbs splits into a confirmed directory and a file.
	dir, file, err := o.CleanedAbs("a/two.yml")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(dir)).To(Equal("/a"))
	g.Expect(file).To(Equal("two.yml"))
	dir, file, err = o.CleanedAbs("/b/c")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(dir)).To(Equal("/b/c"))
	g.Expect(file).To(BeEmpty())
	_, _, err = o.CleanedAbs("/missing")
	g.Expect(err).To(MatchError(fs.ErrNotExist))

	// Glob works over both layers and hides dot files unless asked.
	g.Expect(o.Glob("/a/*.y*ml")).To(Equal([]string{"/a/one.yaml", "/a/two.yml"}))
	g.Expect(o.Glob("/a/.*.yml")).To(Equal([]string{"/a/.hidden.yml"}))
	g.Expect(o.Glob("/*/c/*.txt")).To(Equal([]string{"/b/c/three.txt"}))

	// Walk visits both layers in lexical order and skips dangling links.
	var walked []string
	g.Expect(o.Walk("/", func(p string, info fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.IsDir() && p == "/x" {
			return filepath.SkipDir
		}
		walked = append(walked, p)
		return nil
	})).To(Succeed())
	g.Expect(walked).To(Equal([]string{
		"/", "/a", "/a/.hidden.yml", "/a/created", "/a/inside", "/a/one.yaml", "/a/two.yml",
		"/b", "/b/c", "/b/c/three.txt",
	}))

	g.Expect(snapshot(t, root)).To(Equal(before), "the artifact must not change")
}
