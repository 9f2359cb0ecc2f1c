package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"

	"github.com/ferrycd/ferry/pkg/artifact/archive"
)

// newStorage returns a Storage in a fresh temporary directory.
func newStorage(t *testing.T, retention int) *Storage {
	t.Helper()
	s, err := New(filepath.Join(t.TempDir(), "data"), "source-controller.ferry-system.svc", retention)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sourceTree writes a small tree to archive.
func sourceTree(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"app.yaml": content, "sub/cm.yaml": "kind: ConfigMap\n", ".git/HEAD": "ref"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tempFiles lists leftover temporary files under root.
func tempFiles(t *testing.T, root string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), tempPrefix) {
			found = append(found, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func TestNew(t *testing.T) {
	g := NewWithT(t)
	base := filepath.Join(t.TempDir(), "a", "b")
	s, err := New(base, "host:9090", 0)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(base).To(BeADirectory())
	g.Expect(s.BasePath()).To(Equal(base))
	g.Expect(s.retention).To(Equal(1))

	_, err = New("", "host:9090", 2)
	g.Expect(err).To(HaveOccurred())
	_, err = New(base, "", 2)
	g.Expect(err).To(HaveOccurred())
}

func TestNewArtifact(t *testing.T) {
	s := newStorage(t, 2)
	tests := []struct {
		kind, ns, name, rev, file string
		wantPath, wantURL         string
	}{
		{"GitRepository", "default", "podinfo", "main@sha1:abc", "abc.tar.gz",
			"gitrepository/default/podinfo/abc.tar.gz", "http://source-controller.ferry-system.svc/gitrepository/default/podinfo/abc.tar.gz"},
		{"HelmChart", "flux-system", "default-podinfo", "6.5.0", "podinfo-6.5.0.tgz",
			"helmchart/flux-system/default-podinfo/podinfo-6.5.0.tgz", "http://source-controller.ferry-system.svc/helmchart/flux-system/default-podinfo/podinfo-6.5.0.tgz"},
		{"HelmRepository", "ns", "repo", "sha256:00", "index-00.yaml",
			"helmrepository/ns/repo/index-00.yaml", "http://source-controller.ferry-system.svc/helmrepository/ns/repo/index-00.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			g := NewWithT(t)
			a := s.NewArtifact(tt.kind, tt.ns, tt.name, tt.rev, tt.file)
			g.Expect(a.Path).To(Equal(tt.wantPath))
			g.Expect(a.URL).To(Equal(tt.wantURL))
			g.Expect(a.Revision).To(Equal(tt.rev))
			g.Expect(a.Digest).To(BeEmpty())
			g.Expect(s.LocalPath(a)).To(Equal(filepath.Join(s.BasePath(), filepath.FromSlash(tt.wantPath))))
		})
	}
}

func TestLocalPathStaysUnderBase(t *testing.T) {
	s := newStorage(t, 2)
	outside := t.TempDir()
	objDir := filepath.Join(s.BasePath(), "gitrepository", "ns", "name")
	NewWithT(t).Expect(os.MkdirAll(objDir, 0o755)).To(Succeed())
	NewWithT(t).Expect(os.Symlink(outside, filepath.Join(objDir, "escape"))).To(Succeed())

	tests := []struct {
		path, want string
	}{
		{"gitrepository/ns/name/a.tar.gz", "gitrepository/ns/name/a.tar.gz"},
		{"../../../etc/passwd", "etc/passwd"},
		{"gitrepository/../../x", "x"},
		{"/etc/passwd", "etc/passwd"},
		{"gitrepository/ns/name/escape/secret", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			g := NewWithT(t)
			got := s.LocalPath(meta.Artifact{Path: tt.path})
			g.Expect(got == s.BasePath() || strings.HasPrefix(got, s.BasePath()+string(filepath.Separator))).To(BeTrue(), got)
			if tt.want != "" {
				g.Expect(got).To(Equal(filepath.Join(s.BasePath(), filepath.FromSlash(tt.want))))
			}
		})
	}
}

func TestArchive(t *testing.T) {
	g := NewWithT(t)
	s := newStorage(t, 2)
	src := sourceTree(t, "kind: Deployment\n")
	noGit := func(p string, isDir bool) bool { return isDir && p == ".git" }

	a := s.NewArtifact("GitRepository", "default", "app", "main@sha1:1", "1.tar.gz")
	g.Expect(s.Archive(&a, src, noGit)).To(Succeed())

	stored, err := os.ReadFile(s.LocalPath(a))
	g.Expect(err).NotTo(HaveOccurred())
	var want bytes.Buffer
	g.Expect(archive.Build(&want, src, noGit)).To(Succeed())
	g.Expect(stored).To(Equal(want.Bytes()))
	g.Expect(a.Digest).To(Equal(sha(stored)))
	g.Expect(a.Size).NotTo(BeNil())
	g.Expect(*a.Size).To(Equal(int64(len(stored))))
	g.Expect(a.LastUpdateTime.IsZero()).To(BeFalse())
	g.Expect(s.Exists(a)).To(BeTrue())
	g.Expect(s.Verify(a)).To(Succeed())
	g.Expect(tempFiles(t, s.BasePath())).To(BeEmpty())
	info, err := os.Stat(s.LocalPath(a))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o644)))

	// The same tree under another name has the same digest.
	b := s.NewArtifact("GitRepository", "default", "app", "main@sha1:1", "again.tar.gz")
	g.Expect(s.Archive(&b, src, noGit)).To(Succeed())
	g.Expect(b.Digest).To(Equal(a.Digest))
}

func TestArchiveFailureLeavesNothing(t *testing.T) {
	g := NewWithT(t)
	s := newStorage(t, 2)
	a := s.NewArtifact("GitRepository", "default", "app", "rev", "x.tar.gz")
	g.Expect(s.Archive(&a, filepath.Join(t.TempDir(), "missing"), nil)).To(MatchError(ContainSubstring("x.tar.gz")))
	g.Expect(s.Exists(a)).To(BeFalse())
	g.Expect(a.Digest).To(BeEmpty())
	g.Expect(a.Size).To(BeNil())
	g.Expect(tempFiles(t, s.BasePath())).To(BeEmpty())

	bad := meta.Artifact{Path: "../.."}
	g.Expect(s.Archive(&bad, t.TempDir(), nil)).To(MatchError(ContainSubstring("invalid artifact path")))
}

func TestCopyFile(t *testing.T) {
	g := NewWithT(t)
	s := newStorage(t, 2)
	content := []byte("apiVersion: v1\nentries: {}\n")
	a := s.NewArtifact("HelmRepository", "default", "repo", "sha256:1", "index.yaml")
	g.Expect(s.CopyFile(&a, bytes.NewReader(content))).To(Succeed())
	g.Expect(os.ReadFile(s.LocalPath(a))).To(Equal(content))
	g.Expect(a.Digest).To(Equal(sha(content)))
	g.Expect(*a.Size).To(Equal(int64(len(content))))
	g.Expect(s.Verify(a)).To(Succeed())

	// A replacement is atomic: a failed copy keeps the previous file.
	failed := a
	err := s.CopyFile(&failed, iotest.ErrReader(errors.New("connection reset")))
	g.Expect(err).To(MatchError(ContainSubstring("connection reset")))
	g.Expect(os.ReadFile(s.LocalPath(a))).To(Equal(content))
	g.Expect(tempFiles(t, s.BasePath())).To(BeEmpty())
}

func TestVerify(t *testing.T) {
	s := newStorage(t, 2)
	content := []byte("chart")
	good := s.NewArtifact("HelmChart", "ns", "c", "1.0.0", "c-1.0.0.tgz")
	if err := s.CopyFile(&good, bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		mutate  func(a *meta.Artifact)
		wantErr string
	}{
		{"good", func(*meta.Artifact) {}, ""},
		{"missing file", func(a *meta.Artifact) { a.Path = "helmchart/ns/c/other.tgz" }, "is not in storage"},
		{"wrong digest", func(a *meta.Artifact) { a.Digest = sha([]byte("other")) }, "does not match its digest: expected " + sha([]byte("other")) + ", got " + sha(content)},
		{"empty digest", func(a *meta.Artifact) { a.Digest = "" }, "unsupported digest"},
		{"other algorithm", func(a *meta.Artifact) { a.Digest = "md5:00" }, "unsupported digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			a := good
			tt.mutate(&a)
			err := s.Verify(a)
			if tt.wantErr == "" {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
		})
	}

	t.Run("tampered file", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(os.WriteFile(s.LocalPath(good), []byte("evil"), 0o644)).To(Succeed())
		g.Expect(s.Verify(good)).To(MatchError(ContainSubstring("does not match its digest")))
	})
}

func TestRemoveAll(t *testing.T) {
	g := NewWithT(t)
	s := newStorage(t, 2)
	var arts []meta.Artifact
	for _, name := range []string{"app", "app-2"} {
		a := s.NewArtifact("GitRepository", "default", name, "r", "r.tar.gz")
		g.Expect(s.CopyFile(&a, strings.NewReader(name))).To(Succeed())
		arts = append(arts, a)
	}

	g.Expect(s.RemoveAll("GitRepository", "default", "app")).To(Succeed())
	g.Expect(filepath.Dir(s.LocalPath(arts[0]))).NotTo(BeADirectory())
	g.Expect(s.Exists(arts[1])).To(BeTrue())
	g.Expect(s.RemoveAll("GitRepository", "default", "never-stored")).To(Succeed())

	for _, args := range [][3]string{
		{"GitRepository", "default", ""},
		{"GitRepository", "", "app-2"},
		{"", "default", "app-2"},
		{"GitRepository", "default", ".."},
		{"GitRepository", "..", "default"},
		{"GitRepository", "default/app-2", "x"},
	} {
		g.Expect(s.RemoveAll(args[0], args[1], args[2])).To(HaveOccurred(), "%v", args)
	}
	g.Expect(s.Exists(arts[1])).To(BeTrue())
}

func TestConcurrentWrites(t *testing.T) {
	g := NewWithT(t)
	s := newStorage(t, 2)
	src := sourceTree(t, "kind: Deployment\n")

	var wg sync.WaitGroup
	errs := make([]error, 16)
	arts := make([]meta.Artifact, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Half write the same artifact, half write their own object.
			name := "shared"
			if i%2 == 1 {
				name = "obj-" + string(rune('a'+i))
			}
			arts[i] = s.NewArtifact("GitRepository", "default", name, "r", "r.tar.gz")
			errs[i] = s.Archive(&arts[i], src, nil)
		}()
	}
	wg.Wait()
	for i := range 16 {
		g.Expect(errs[i]).NotTo(HaveOccurred())
		g.Expect(s.Verify(arts[i])).To(Succeed())
		g.Expect(arts[i].Digest).To(Equal(arts[0].Digest))
	}
	g.Expect(tempFiles(t, s.BasePath())).To(BeEmpty())
}
