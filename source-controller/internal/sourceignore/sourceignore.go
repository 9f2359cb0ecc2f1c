// Package sourceignore decides which files of a source go into its artifact,
// with gitignore rules as Flux users write them: Git metadata is always left
// out; Flux's default exclusions (CI configuration, images, archives, SOPS
// and release tooling files) apply unless spec.ignore is set; .sourceignore
// files anywhere in the tree apply to their directory; spec.ignore rules are
// read last so they can re-include what the defaults exclude.
package sourceignore

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// FileName is the per-directory ignore file read from the source.
const FileName = ".sourceignore"

const (
	excludeVCS   = ".git/\n.gitignore\n.gitmodules\n.gitattributes\n"
	excludeExt   = "*.jpg\n*.jpeg\n*.gif\n*.png\n*.wmv\n*.flv\n*.tar.gz\n*.zip\n"
	excludeCI    = ".github/\n.circleci/\n.travis.yml\n.gitlab-ci.yml\nappveyor.yml\n.drone.yml\ncloudbuild.yaml\ncodeship-services.yml\ncodeship-steps.yml\n"
	excludeExtra = "**/.goreleaser.yml\n**/.sops.yaml\n**/.flux.yaml\n"
)

// Filter reports whether a path relative to the source root is excluded.
type Filter func(relPath string, isDir bool) bool

// Load builds the filter for the tree at root. spec is spec.ignore (nil when
// unset).
func Load(root string, spec *string) (Filter, error) {
	patterns := parse(excludeVCS, nil)
	if spec == nil {
		patterns = append(patterns, parse(excludeExt+excludeCI+excludeExtra, nil)...)
	}
	fromFiles, err := loadFiles(root)
	if err != nil {
		return nil, err
	}
	patterns = append(patterns, fromFiles...)
	if spec != nil {
		patterns = append(patterns, parse(*spec, nil)...)
	}
	m := gitignore.NewMatcher(patterns)
	return func(relPath string, isDir bool) bool {
		rel := filepath.ToSlash(relPath)
		if rel == "." || rel == "" {
			return false
		}
		return m.Match(strings.Split(rel, "/"), isDir)
	}, nil
}

// parse reads gitignore lines; domain is the directory they apply to.
func parse(text string, domain []string) []gitignore.Pattern {
	var ps []gitignore.Pattern
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \t\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, domain))
	}
	return ps
}

// loadFiles reads every .sourceignore under root, each scoped to its own
// directory, skipping the .git directory.
func loadFiles(root string) ([]gitignore.Pattern, error) {
	var ps []gitignore.Pattern
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.IsDir() || d.Name() != FileName {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		var domain []string
		if rel != "." {
			domain = strings.Split(filepath.ToSlash(rel), "/")
		}
		ps = append(ps, parse(string(data), domain)...)
		return nil
	})
	return ps, err
}
