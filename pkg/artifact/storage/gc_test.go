package storage

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func TestGarbageCollect(t *testing.T) {
	base := time.Now().Add(-time.Hour)
	// Files in the object's directory with their age in minutes from base; a larger
	// number is newer.
	files := map[string]int{
		"1.tar.gz": 1, "2.tar.gz": 2, "3.tar.gz": 3, "4.tar.gz": 4, "5.tar.gz": 5,
	}
	tests := []struct {
		name      string
		retention int
		current   string
		wantKept  []string
	}{
		{"retention 1 keeps only the current", 1, "5.tar.gz", []string{"5.tar.gz"}},
		{"retention 2 keeps the previous", 2, "5.tar.gz", []string{"4.tar.gz", "5.tar.gz"}},
		{"retention 3", 3, "5.tar.gz", []string{"3.tar.gz", "4.tar.gz", "5.tar.gz"}},
		{"current is kept even when oldest", 2, "1.tar.gz", []string{"1.tar.gz", "5.tar.gz"}},
		{"retention above count keeps all", 10, "3.tar.gz", []string{"1.tar.gz", "2.tar.gz", "3.tar.gz", "4.tar.gz", "5.tar.gz"}},
		{"current not written yet", 2, "6.tar.gz", []string{"5.tar.gz"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			s := newStorage(t, tt.retention)
			current := s.NewArtifact("GitRepository", "default", "app", "r", tt.current)
			dir := filepath.Dir(s.LocalPath(current))
			g.Expect(os.MkdirAll(dir, 0o755)).To(Succeed())
			for name, age := range files {
				p := filepath.Join(dir, name)
				g.Expect(os.WriteFile(p, []byte(name), 0o644)).To(Succeed())
				mtime := base.Add(time.Duration(age) * time.Minute)
				g.Expect(os.Chtimes(p, mtime, mtime)).To(Succeed())
			}
			// A sibling object must never be touched.
			sibling := s.NewArtifact("GitRepository", "default", "app-other", "r", "0.tar.gz")
			g.Expect(s.CopyFile(&sibling, strings.NewReader("x"))).To(Succeed())

			deleted, err := s.GarbageCollect(current)
			g.Expect(err).NotTo(HaveOccurred())

			var kept []string
			entries, err := os.ReadDir(dir)
			g.Expect(err).NotTo(HaveOccurred())
			for _, e := range entries {
				kept = append(kept, e.Name())
			}
			g.Expect(kept).To(Equal(tt.wantKept))
			var wantDeleted []string
			for name := range files {
				if !slices.Contains(tt.wantKept, name) {
					wantDeleted = append(wantDeleted, filepath.Join(dir, name))
				}
			}
			slices.Sort(wantDeleted)
			g.Expect(deleted).To(Equal(wantDeleted))
			for _, p := range deleted {
				g.Expect(filepath.Dir(p)).To(Equal(dir))
				g.Expect(p).NotTo(BeAnExistingFile())
			}
			g.Expect(s.Exists(sibling)).To(BeTrue())
		})
	}
}

func TestGarbageCollectTempFilesAndDirs(t *testing.T) {
	g := NewWithT(t)
	s := newStorage(t, 1)
	current := s.NewArtifact("GitRepository", "default", "app", "r", "cur.tar.gz")
	g.Expect(s.CopyFile(&current, strings.NewReader("current"))).To(Succeed())
	dir := filepath.Dir(s.LocalPath(current))

	young := filepath.Join(dir, tempPrefix+"cur.tar.gz-young")
	stale := filepath.Join(dir, tempPrefix+"cur.tar.gz-stale")
	sub := filepath.Join(dir, "subdir")
	g.Expect(os.WriteFile(young, nil, 0o600)).To(Succeed())
	g.Expect(os.WriteFile(stale, nil, 0o600)).To(Succeed())
	g.Expect(os.Mkdir(sub, 0o755)).To(Succeed())
	old := time.Now().Add(-2 * tempGrace)
	g.Expect(os.Chtimes(stale, old, old)).To(Succeed())

	deleted, err := s.GarbageCollect(current)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(deleted).To(Equal([]string{stale}))
	g.Expect(young).To(BeAnExistingFile())
	g.Expect(sub).To(BeADirectory())
	g.Expect(s.Verify(current)).To(Succeed())
}

func TestGarbageCollectMissingDirectory(t *testing.T) {
	g := NewWithT(t)
	s := newStorage(t, 2)
	deleted, err := s.GarbageCollect(s.NewArtifact("GitRepository", "default", "gone", "r", "x.tar.gz"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(deleted).To(BeEmpty())

	_, err = s.GarbageCollect(s.NewArtifact("", "", "", "", ""))
	g.Expect(err).To(HaveOccurred())
}
