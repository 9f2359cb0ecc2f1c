// Package artifactcopy runs an ArtifactGenerator's copy operations: it copies
// files from extracted source artifacts into the directory of an artifact
// being generated, with the cp-like semantics Flux documents for
// source.extensions.fluxcd.io (see CopyOperation in pkg/apis/sourceext).
//
// It is pure file-system logic, so the semantics are table-tested without a
// cluster. Glob patterns are matched with doublestar ("*" stays inside one
// directory, "**" spans any number), the library Flux's own generator uses,
// so patterns behave the same in both.
package artifactcopy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	securejoin "github.com/cyphar/filepath-securejoin"
)

// ErrNoMatch is wrapped by the error of an operation whose source pattern
// selected no file: a typo in a path should fail the build, not produce an
// artifact that silently lacks the files.
var ErrNoMatch = errors.New("matched no files")

// Operation is one parsed copy operation.
type Operation struct {
	// Alias names the source the files come from.
	Alias string
	// Pattern is the file, directory or glob inside the source, relative to
	// its root, without a leading or trailing "/"; empty for the root.
	Pattern string
	// Dir is true when Pattern names a directory explicitly ("@src/dir/").
	Dir bool
	// To is the destination relative to the artifact's root; empty for the
	// root.
	To string
	// ToDir is true when To is a directory ("@artifact/dir/" or the root).
	ToDir bool
	// Exclude are patterns of files to leave out.
	Exclude []string
}

// Parse reads a copy operation's from ("@alias/pattern") and to
// ("@<artifactAlias>/path") fields.
func Parse(from, to, artifactAlias string, exclude []string) (Operation, error) {
	alias, pattern, ok := strings.Cut(strings.TrimPrefix(from, "@"), "/")
	if !strings.HasPrefix(from, "@") || !ok || alias == "" {
		return Operation{}, fmt.Errorf("copy from '%s' must have the form @alias/path", from)
	}
	toAlias, dest, ok := strings.Cut(strings.TrimPrefix(to, "@"), "/")
	if !strings.HasPrefix(to, "@") || !ok || toAlias != artifactAlias {
		return Operation{}, fmt.Errorf("copy to '%s' must have the form @%s/path", to, artifactAlias)
	}
	op := Operation{
		Alias:   alias,
		Pattern: strings.Trim(pattern, "/"),
		Dir:     strings.HasSuffix(pattern, "/"),
		To:      strings.Trim(dest, "/"),
		ToDir:   dest == "" || strings.HasSuffix(dest, "/"),
		Exclude: exclude,
	}
	for _, p := range append([]string{op.Pattern, op.To}, exclude...) {
		if !doublestar.ValidatePattern(p) {
			return Operation{}, fmt.Errorf("invalid pattern '%s'", p)
		}
		if slices.Contains(strings.Split(p, "/"), "..") {
			return Operation{}, fmt.Errorf("path '%s' must not contain '..'", p)
		}
	}
	return op, nil
}

// Copy runs op from the extracted source at srcRoot into dstRoot. Later
// operations overwrite files earlier ones wrote, so callers run a generator's
// operations in spec order on the same dstRoot.
func Copy(op Operation, srcRoot, dstRoot string) error {
	files, err := op.selectFiles(srcRoot)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("copy from '@%s/%s': %w", op.Alias, op.Pattern, ErrNoMatch)
	}
	single := len(files) == 1 && files[0].rel == ""
	for _, f := range files {
		var dest string
		switch {
		case single && !op.ToDir:
			dest = op.To // a file copied to a file name
		case single:
			dest = path.Join(op.To, path.Base(f.src))
		default:
			dest = path.Join(op.To, f.rel)
		}
		if err := copyFile(filepath.Join(srcRoot, filepath.FromSlash(f.src)), dstRoot, dest); err != nil {
			return fmt.Errorf("copy from '@%s/%s': %w", op.Alias, f.src, err)
		}
	}
	return nil
}

// selected is one file to copy: src is its path in the source, rel its path
// under the destination directory ("" for a single file copied by name).
type selected struct{ src, rel string }

// selectFiles resolves the pattern. A glob selects the matching files, each
// placed by its path below the pattern's literal prefix ("deploy/**" copies
// deploy/a/b.yaml to a/b.yaml). A plain path selects a file, or a directory
// with everything under it, placed under the directory's own name as cp -r
// does ("deploy/" copies deploy/a.yaml to deploy/a.yaml); the source root
// copies its contents.
func (op Operation) selectFiles(srcRoot string) ([]selected, error) {
	walkFrom, base := literalPrefix(op.Pattern), literalPrefix(op.Pattern)
	match := func(rel string) bool { return doublestar.MatchUnvalidated(op.Pattern, rel) }
	if !hasMeta(op.Pattern) {
		full, err := securejoin.SecureJoin(srcRoot, op.Pattern)
		if err != nil {
			return nil, err
		}
		info, err := os.Stat(full)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, nil
		case err != nil:
			return nil, err
		case !info.IsDir() && op.Dir:
			return nil, fmt.Errorf("copy from '@%s/%s/': not a directory", op.Alias, op.Pattern)
		case !info.IsDir():
			if op.excluded(op.Pattern) {
				return nil, nil
			}
			return []selected{{src: op.Pattern}}, nil
		}
		walkFrom, base = op.Pattern, path.Dir(op.Pattern) // keep the directory's own name
		match = func(string) bool { return true }
	}
	if base == "." {
		base = ""
	}
	root, err := securejoin.SecureJoin(srcRoot, walkFrom)
	if err != nil {
		return nil, err
	}
	var out []selected
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == root {
			return fs.SkipAll // a glob whose literal prefix does not exist matches nothing
		}
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(srcRoot, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !match(rel) || op.excluded(rel) {
			return nil
		}
		under := rel
		if base != "" {
			under = strings.TrimPrefix(rel, base+"/")
		}
		out = append(out, selected{src: rel, rel: under})
		return nil
	})
	return out, err
}

// excluded reports whether rel matches an exclude pattern. A pattern without
// "/" matches the file name at any depth, as in .gitignore; one with "/"
// matches the path from the source's root.
func (op Operation) excluded(rel string) bool {
	for _, ex := range op.Exclude {
		target := rel
		if !strings.Contains(ex, "/") {
			target = path.Base(rel)
		}
		if doublestar.MatchUnvalidated(ex, target) {
			return true
		}
	}
	return false
}

func hasMeta(p string) bool {
	return strings.ContainsAny(p, "*?[{")
}

// literalPrefix returns the directories of a glob before its first segment
// with a meta character: "deploy/apps/*.yaml" gives "deploy/apps". Files are
// found by walking only that directory.
func literalPrefix(pattern string) string {
	parts := strings.Split(pattern, "/")
	for i, p := range parts {
		if hasMeta(p) {
			return strings.Join(parts[:i], "/")
		}
	}
	return pattern
}

// copyFile copies src to dest, a slash path under dstRoot joined securely,
// keeping only the executable bit of the mode, as artifacts do.
func copyFile(src, dstRoot, dest string) error {
	if dest == "" || dest == "." {
		return errors.New("destination is the artifact root, not a file: end the path with '/'")
	}
	target, err := securejoin.SecureJoin(dstRoot, dest)
	if err != nil {
		return err
	}
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if info.Mode()&0o111 != 0 {
		mode = 0o755
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	// Remove first: an earlier operation may have left a directory or a file
	// with other permissions at the destination.
	if err := os.RemoveAll(target); err != nil {
		return err
	}
	out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
