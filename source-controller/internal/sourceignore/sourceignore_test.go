package sourceignore

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
)

func TestLoad(t *testing.T) {
	root := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("apps/.sourceignore", "*.md\n")
	write(".sourceignore", "# comment\nscratch/\n")

	custom := "*.txt\n!keep.txt\n*.png\n"
	tests := []struct {
		name     string
		spec     *string
		path     string
		isDir    bool
		excluded bool
	}{
		{"git dir always excluded", nil, ".git", true, true},
		{"git dir excluded with spec", &custom, ".git", true, true},
		{"manifest kept", nil, "apps/deploy.yaml", false, false},
		{"default excludes images", nil, "logo.png", false, true},
		{"default excludes CI dirs", nil, ".github", true, true},
		{"default excludes nested sops config", nil, "apps/.sops.yaml", false, true},
		{"spec replaces defaults", &custom, ".github", true, false},
		{"spec rules apply", &custom, "notes.txt", false, true},
		{"spec negation re-includes", &custom, "keep.txt", false, false},
		{"spec can exclude what defaults did", &custom, "logo.png", false, true},
		{"sourceignore scoped to its dir", nil, "apps/README.md", false, true},
		{"sourceignore not outside its dir", nil, "README.md", false, false},
		{"root sourceignore", nil, "scratch", true, true},
		{"sourceignore honoured with spec", &custom, "apps/README.md", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			f, err := Load(root, tt.spec)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(f(tt.path, tt.isDir)).To(Equal(tt.excluded))
		})
	}
}
