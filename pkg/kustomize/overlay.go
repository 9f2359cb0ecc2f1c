package kustomize

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// overlay is the filesystem kustomize sees during a build. It shows the
// artifact directory as "/" (like a chroot), reads through to the disk, and
// keeps every write in memory.
//
// Why not kustomize's on-disk filesystem: the reconciler caches one
// extracted artifact per digest and shares it between Kustomizations, so a
// build must never write into it, yet Flux's build needs to write (a
// generated or merged kustomization.yaml, decrypted generator inputs).
// Why not copy the artifact into kustomize's in-memory filesystem: that
// costs time and memory proportional to the whole artifact on every build,
// while a build usually reads a handful of files.
//
// Confinement: every path is resolved with securejoin inside the artifact,
// so "..", absolute paths and symlinks can never reach a file outside it,
// and error messages name files relative to the artifact, not the cache.
type overlay struct {
	// root is the artifact directory on disk, absolute and clean.
	root string
	// files and dirs are the in-memory layer, keyed by clean virtual path.
	files map[string][]byte
	dirs  map[string]bool
	// maxRead caps the bytes of distinct files read from disk (0: no cap);
	// read counts them, charged holds the files counted and exceeded is the
	// first read refused (see charge). maxObjects and objects do the same
	// for the objects the files hold (see countObjects).
	maxRead, read       int64
	maxObjects, objects int
	charged             map[string]bool
	exceeded            *LimitError
}

var _ filesys.FileSystem = (*overlay)(nil)

func newOverlay(root string) *overlay {
	return &overlay{root: root, files: map[string][]byte{}, dirs: map[string]bool{}}
}

// clean turns any path kustomize hands over into a clean virtual absolute
// path; relative paths are taken relative to the artifact root.
func clean(p string) string {
	return filepath.Clean(string(filepath.Separator) + p)
}

// real maps a virtual path to the file on disk, resolving symlinks as if
// the artifact were the filesystem root.
func (o *overlay) real(p string) (string, error) {
	return securejoin.SecureJoin(o.root, p)
}

// stat returns the on-disk FileInfo of a virtual path.
func (o *overlay) stat(p string) (os.FileInfo, error) {
	r, err := o.real(p)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: p, Err: unwrapPathError(err)}
	}
	fi, err := os.Stat(r)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: p, Err: unwrapPathError(err)}
	}
	return fi, nil
}

// unwrapPathError drops the on-disk path from an os error so that messages
// only ever show virtual paths.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// upperDir reports whether p is a directory of the in-memory layer: made
// with Mkdir, or the parent of an in-memory file.
func (o *overlay) upperDir(p string) bool {
	if o.dirs[p] {
		return true
	}
	prefix := p
	if prefix != string(filepath.Separator) {
		prefix += string(filepath.Separator)
	}
	for f := range o.files {
		if strings.HasPrefix(f, prefix) {
			return true
		}
	}
	return false
}

func (o *overlay) Create(path string) (filesys.File, error) {
	p := clean(path)
	if o.IsDir(p) {
		return nil, &fs.PathError{Op: "create", Path: p, Err: fs.ErrExist}
	}
	o.files[p] = nil
	return &memFile{o: o, path: p, writable: true}, nil
}

func (o *overlay) Mkdir(path string) error {
	p := clean(path)
	if o.Exists(p) {
		return &fs.PathError{Op: "mkdir", Path: p, Err: fs.ErrExist}
	}
	o.dirs[p] = true
	return nil
}

func (o *overlay) MkdirAll(path string) error {
	p := clean(path)
	if o.IsDir(p) {
		return nil
	}
	if o.Exists(p) {
		return &fs.PathError{Op: "mkdir", Path: p, Err: fs.ErrExist}
	}
	o.dirs[p] = true
	return nil
}

// RemoveAll removes in-memory files only: the artifact is read-only.
func (o *overlay) RemoveAll(path string) error {
	p := clean(path)
	if _, err := o.stat(p); err == nil {
		return &fs.PathError{Op: "remove", Path: p, Err: fs.ErrPermission}
	}
	prefix := p + string(filepath.Separator)
	for f := range o.files {
		if f == p || strings.HasPrefix(f, prefix) {
			delete(o.files, f)
		}
	}
	for d := range o.dirs {
		if d == p || strings.HasPrefix(d, prefix) {
			delete(o.dirs, d)
		}
	}
	return nil
}

func (o *overlay) Open(path string) (filesys.File, error) {
	p := clean(path)
	if _, ok := o.files[p]; ok {
		return &memFile{o: o, path: p, r: bytes.NewReader(o.files[p])}, nil
	}
	r, err := o.real(p)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: unwrapPathError(err)}
	}
	if _, err := o.charge(p, r); err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	f, err := os.Open(r)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: unwrapPathError(err)}
	}
	return f, nil
}

func (o *overlay) IsDir(path string) bool {
	p := clean(path)
	if _, ok := o.files[p]; ok {
		return false
	}
	if o.upperDir(p) {
		return true
	}
	fi, err := o.stat(p)
	return err == nil && fi.IsDir()
}

// ReadDir returns the names in a directory of either layer, sorted.
func (o *overlay) ReadDir(path string) ([]string, error) {
	p := clean(path)
	if !o.IsDir(p) {
		if o.Exists(p) {
			return nil, fmt.Errorf("%s is not a directory", p)
		}
		return nil, &fs.PathError{Op: "readdir", Path: p, Err: fs.ErrNotExist}
	}
	names := map[string]bool{}
	if r, err := o.real(p); err == nil {
		if entries, err := os.ReadDir(r); err == nil {
			for _, e := range entries {
				names[e.Name()] = true
			}
		}
	}
	prefix := p
	if prefix != string(filepath.Separator) {
		prefix += string(filepath.Separator)
	}
	addUpper := func(q string) {
		if rest, ok := strings.CutPrefix(q, prefix); ok && rest != "" {
			names[strings.SplitN(rest, string(filepath.Separator), 2)[0]] = true
		}
	}
	for f := range o.files {
		addUpper(f)
	}
	for d := range o.dirs {
		addUpper(d)
	}
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// CleanedAbs splits a path into an existing directory and a file name, as
// kustomize's loader expects. Symlinks are not resolved here: paths stay
// virtual and reads resolve them inside the artifact.
func (o *overlay) CleanedAbs(path string) (filesys.ConfirmedDir, string, error) {
	p := clean(path)
	if o.IsDir(p) {
		return filesys.ConfirmedDir(p), "", nil
	}
	if !o.Exists(p) {
		return "", "", &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
	return filesys.ConfirmedDir(filepath.Dir(p)), filepath.Base(p), nil
}

func (o *overlay) Exists(path string) bool {
	p := clean(path)
	if _, ok := o.files[p]; ok || o.upperDir(p) {
		return true
	}
	_, err := o.stat(p)
	return err == nil
}

// Glob matches like filepath.Glob over both layers, leaving out hidden
// files unless the pattern asks for them, as kustomize's disk filesystem
// does.
func (o *overlay) Glob(pattern string) ([]string, error) {
	matches, err := o.glob(clean(pattern))
	if err != nil {
		return nil, err
	}
	if !filesys.IsHiddenFilePath(pattern) {
		matches = filesys.RemoveHiddenFiles(matches)
	}
	sort.Strings(matches)
	return matches, nil
}

func (o *overlay) glob(pattern string) ([]string, error) {
	if _, err := filepath.Match(pattern, ""); err != nil {
		return nil, err
	}
	dir, base := filepath.Split(pattern)
	dir = clean(dir)
	if !strings.ContainsAny(pattern, `*?[\`) {
		if o.Exists(pattern) {
			return []string{pattern}, nil
		}
		return nil, nil
	}
	dirs := []string{dir}
	if strings.ContainsAny(dir, `*?[\`) {
		var err error
		if dirs, err = o.glob(dir); err != nil {
			return nil, err
		}
	}
	var out []string
	for _, d := range dirs {
		names, err := o.ReadDir(d)
		if err != nil {
			continue
		}
		for _, n := range names {
			if ok, _ := filepath.Match(base, n); ok {
				out = append(out, filepath.Join(d, n))
			}
		}
	}
	return out, nil
}

func (o *overlay) ReadFile(path string) ([]byte, error) {
	p := clean(path)
	if data, ok := o.files[p]; ok {
		return bytes.Clone(data), nil
	}
	r, err := o.real(p)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: p, Err: unwrapPathError(err)}
	}
	first, err := o.charge(p, r)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: p, Err: err}
	}
	data, err := os.ReadFile(r)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: p, Err: unwrapPathError(err)}
	}
	if first {
		if err := o.countObjects(p, data); err != nil {
			return nil, &fs.PathError{Op: "read", Path: p, Err: err}
		}
	}
	return data, nil
}

// WriteFile keeps the content in memory; the artifact is never touched.
func (o *overlay) WriteFile(path string, data []byte) error {
	p := clean(path)
	if o.IsDir(p) {
		return &fs.PathError{Op: "write", Path: p, Err: fs.ErrExist}
	}
	o.files[p] = bytes.Clone(data)
	return nil
}

// Walk visits the union of both layers in lexical order, like
// filepath.Walk.
func (o *overlay) Walk(path string, walkFn filepath.WalkFunc) error {
	p := clean(path)
	info, err := o.info(p)
	if err != nil {
		return walkFn(p, nil, err)
	}
	err = o.walk(p, info, walkFn)
	if errors.Is(err, filepath.SkipDir) || errors.Is(err, filepath.SkipAll) {
		return nil
	}
	return err
}

func (o *overlay) walk(p string, info os.FileInfo, walkFn filepath.WalkFunc) error {
	if !info.IsDir() {
		return walkFn(p, info, nil)
	}
	names, err := o.ReadDir(p)
	err1 := walkFn(p, info, err)
	if err != nil || err1 != nil {
		return err1
	}
	for _, n := range names {
		child := filepath.Join(p, n)
		ci, err := o.info(child)
		if errors.Is(err, fs.ErrNotExist) {
			// A symlink whose target lies outside the artifact: in the
			// artifact's view it points nowhere.
			continue
		}
		if err != nil {
			if err := walkFn(child, ci, err); err != nil && !errors.Is(err, filepath.SkipDir) {
				return err
			}
			continue
		}
		if err := o.walk(child, ci, walkFn); err != nil {
			if errors.Is(err, filepath.SkipDir) && ci.IsDir() {
				continue
			}
			return err
		}
	}
	return nil
}

// info describes a virtual path with its virtual name.
func (o *overlay) info(p string) (os.FileInfo, error) {
	if data, ok := o.files[p]; ok {
		return fileInfo{name: filepath.Base(p), size: int64(len(data))}, nil
	}
	if o.upperDir(p) {
		return fileInfo{name: filepath.Base(p), dir: true}, nil
	}
	fi, err := o.stat(p)
	if err != nil {
		return nil, err
	}
	return fileInfo{name: filepath.Base(p), size: fi.Size(), dir: fi.IsDir(), mod: fi.ModTime()}, nil
}
