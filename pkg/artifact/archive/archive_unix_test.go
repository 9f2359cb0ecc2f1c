//go:build unix

package archive

import (
	"path/filepath"
	"syscall"
	"testing"

	. "github.com/onsi/gomega"
)

func TestBuildSkipsSpecialFiles(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	writeTree(t, dir, []string{"a.txt"}, fixture)
	g.Expect(syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644)).To(Succeed())

	entries, _ := list(t, build(t, dir, nil))
	g.Expect(entries).To(Equal([]entry{{"a.txt", '0', 0o644, "a"}}))
}
