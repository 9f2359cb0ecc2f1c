package gitserver

import (
	"os"
	"path/filepath"
	"testing"

	gogit "github.com/go-git/go-git/v5"
	. "github.com/onsi/gomega"
)

func TestCommitCloneAndCount(t *testing.T) {
	g := NewWithT(t)
	s, err := Start()
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(s.Close)

	first, err := s.Commit("org/app.git", "main", "add app", map[string]string{"deploy/app.yaml": "kind: ConfigMap\n", "README.md": "hi\n"})
	g.Expect(err).NotTo(HaveOccurred())
	second, err := s.Commit("org/app.git", "main", "drop readme", map[string]string{"README.md": ""})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(second).NotTo(Equal(first))
	g.Expect(s.Uploads("org/app.git")).To(BeZero())

	dir := t.TempDir()
	r, err := gogit.PlainClone(dir, false, &gogit.CloneOptions{URL: s.URL("org/app.git"), ReferenceName: "refs/heads/main"})
	g.Expect(err).NotTo(HaveOccurred())
	head, err := r.Head()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(head.Hash().String()).To(Equal(second))
	g.Expect(filepath.Join(dir, "deploy/app.yaml")).To(BeAnExistingFile())
	_, err = os.Stat(filepath.Join(dir, "README.md"))
	g.Expect(os.IsNotExist(err)).To(BeTrue())
	g.Expect(s.Uploads("org/app.git")).To(Equal(int64(1)))

	g.Expect(s.Tag("org/app.git", "v1.0.0", first)).To(Succeed())
}
