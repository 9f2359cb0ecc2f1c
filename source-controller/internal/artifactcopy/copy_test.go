package artifactcopy

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
)

// source is the tree every case copies from.
var source = map[string]string{
	"README.md":                   "readme",
	"deploy/frontend/app.yaml":    "frontend",
	"deploy/frontend/notes.md":    "notes",
	"deploy/frontend/sub/cm.yaml": "cm",
	"deploy/backend/app.yaml":     "backend",
	"deploy/backend/testdata/x":   "x",
	"configs/a.yaml":              "a",
	"configs/b.yaml":              "b",
	"configs/nested/c.yaml":       "c",
}

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type op struct {
	from, to string
	exclude  []string
}

func TestCopySemantics(t *testing.T) {
	tests := []struct {
		name string
		ops  []op
		want map[string]string
	}{
		{"file to a file name", []op{{from: "@src/configs/a.yaml", to: "@artifact/apps/app.yaml"}},
			map[string]string{"apps/app.yaml": "a"}},
		{"file into a directory", []op{{from: "@src/configs/a.yaml", to: "@artifact/apps/"}},
			map[string]string{"apps/a.yaml": "a"}},
		{"star stays in one directory", []op{{from: "@src/configs/*.yaml", to: "@artifact/apps/"}},
			map[string]string{"apps/a.yaml": "a", "apps/b.yaml": "b"}},
		{"directory copies as a subdirectory", []op{{from: "@src/configs/", to: "@artifact/apps/"}},
			map[string]string{"apps/configs/a.yaml": "a", "apps/configs/b.yaml": "b", "apps/configs/nested/c.yaml": "c"}},
		{"double star strips the prefix", []op{{from: "@src/deploy/frontend/**", to: "@artifact/"}},
			map[string]string{"app.yaml": "frontend", "notes.md": "notes", "sub/cm.yaml": "cm"}},
		{"double star with a suffix", []op{{from: "@src/deploy/**/*.yaml", to: "@artifact/all/"}},
			map[string]string{"all/frontend/app.yaml": "frontend", "all/frontend/sub/cm.yaml": "cm", "all/backend/app.yaml": "backend"}},
		{"exclude by name and by path", []op{{from: "@src/deploy/**", to: "@artifact/",
			exclude: []string{"*.md", "**/testdata/**"}}},
			map[string]string{"frontend/app.yaml": "frontend", "frontend/sub/cm.yaml": "cm", "backend/app.yaml": "backend"}},
		{"the source root copies its contents", []op{{from: "@src/", to: "@artifact/x/", exclude: []string{"deploy/**", "configs/**"}}},
			map[string]string{"x/README.md": "readme"}},
		{"later operations overwrite", []op{
			{from: "@src/deploy/frontend/**", to: "@artifact/"},
			{from: "@src/deploy/backend/app.yaml", to: "@artifact/app.yaml"},
		}, map[string]string{"app.yaml": "backend", "notes.md": "notes", "sub/cm.yaml": "cm"}},
	}
	src := writeTree(t, source)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			dst := t.TempDir()
			for _, o := range tt.ops {
				parsed, err := Parse(o.from, o.to, "artifact", o.exclude)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(Copy(parsed, src, dst)).To(Succeed())
			}
			g.Expect(readTree(t, dst)).To(Equal(tt.want))
		})
	}
}

func TestCopyErrors(t *testing.T) {
	src := writeTree(t, source)
	tests := []struct {
		name, from, to string
		parseErr       string
		noMatch        bool
		copyErr        string
	}{
		{name: "missing file", from: "@src/nope.yaml", to: "@artifact/", noMatch: true},
		{name: "glob matching nothing", from: "@src/nope/**", to: "@artifact/", noMatch: true},
		{name: "file named as a directory", from: "@src/README.md/", to: "@artifact/", copyErr: "not a directory"},
		{name: "file onto the root", from: "@src/README.md", to: "@artifact", parseErr: "must have the form"},
		{name: "no alias", from: "src/README.md", to: "@artifact/", parseErr: "must have the form @alias/path"},
		{name: "other destination alias", from: "@src/README.md", to: "@other/", parseErr: "@artifact/path"},
		{name: "parent directory", from: "@src/../etc/passwd", to: "@artifact/", parseErr: "'..'"},
		{name: "parent in destination", from: "@src/README.md", to: "@artifact/../x", parseErr: "'..'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			parsed, err := Parse(tt.from, tt.to, "artifact", nil)
			if tt.parseErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.parseErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			err = Copy(parsed, src, t.TempDir())
			if tt.noMatch {
				g.Expect(errors.Is(err, ErrNoMatch)).To(BeTrue(), "%v", err)
				return
			}
			g.Expect(err).To(MatchError(ContainSubstring(tt.copyErr)))
		})
	}
}
