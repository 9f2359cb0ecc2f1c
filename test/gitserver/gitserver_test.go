package gitserver

import (
	"os"
	"path/filepath"
	"testing"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/storage/memory"
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

// TestFaults takes the server down, makes it flap and brings it back,
// checking what a Git client sees each time.
func TestFaults(t *testing.T) {
	g := NewWithT(t)
	s, err := Start()
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(s.Close)
	_, err = s.Commit("org/app.git", "main", "add app", map[string]string{"app.yaml": "kind: ConfigMap\n"})
	g.Expect(err).NotTo(HaveOccurred())
	remote := gogit.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{s.URL("org/app.git")}})
	list := func() error { _, err := remote.List(&gogit.ListOptions{}); return err }

	s.SetFault(Down)
	g.Expect(list()).To(HaveOccurred())
	g.Expect(list()).To(HaveOccurred())
	g.Expect(s.Failed()).To(Equal(int64(2)))

	s.SetFault(Flapping)
	g.Expect(list()).To(MatchError(ContainSubstring("503")))
	g.Expect(list()).To(Succeed())
	g.Expect(list()).To(HaveOccurred())
	g.Expect(list()).To(Succeed())
	g.Expect(s.Failed()).To(Equal(int64(4)))

	s.SetFault(Healthy)
	_, err = gogit.PlainClone(t.TempDir(), false, &gogit.CloneOptions{URL: s.URL("org/app.git")})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(s.Failed()).To(Equal(int64(4)))
}
