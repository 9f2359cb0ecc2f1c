package kustomize

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Why a build has limits: kustomize holds every resource it reads as a
// YAML node tree, which takes many times the bytes of the file, and it
// checks each resource it adds against all those added before, so its time
// grows with the square of the objects (measured: 500 objects in 0.8 s,
// 1,500 in 3 s of CPU, 10,000 in over 10 minutes). One oversized revision
// could take a controller's memory past its container limit, or a worker
// for as long as it likes, and every other Kustomization's reconciles with
// it. The limits refuse such a build while its files are read, before
// kustomize parses the file that crosses them, with an error that names
// the size and the limit, so the cluster keeps what the last good revision
// applied.

// Limit names which of Options' limits a build exceeded.
type Limit string

const (
	// LimitReadBytes is Options.MaxReadBytes.
	LimitReadBytes Limit = "MaxReadBytes"
	// LimitObjects is Options.MaxObjects.
	LimitObjects Limit = "MaxObjects"
)

// LimitError is a build refused for exceeding one of Options' limits.
type LimitError struct {
	Limit Limit
	// File is the file whose reading crossed the limit, relative to the
	// artifact; empty when the build's output was counted.
	File string
	// Size is what the build reached when it was refused: bytes read, or
	// objects.
	Size int64
	// Max is the limit.
	Max int64
}

func (e *LimitError) Error() string {
	switch {
	case e.Limit == LimitReadBytes:
		return fmt.Sprintf("the build's input reaches %d bytes with '%s', more than the limit of %d bytes per build",
			e.Size, e.File, e.Max)
	case e.File != "":
		return fmt.Sprintf("the build has at least %d objects, more than the limit of %d objects per build (counted up to '%s')",
			e.Size, e.Max, e.File)
	}
	return fmt.Sprintf("the build has %d objects, more than the limit of %d objects per build", e.Size, e.Max)
}

// charge counts the size of the on-disk file real (virtual path p) against
// the overlay's read budget before it is read, refuses the read once the
// budget is spent, and says whether this is the file's first read. A file
// is counted once however often it is read (a generated kustomization reads
// each file to check it, then kustomize reads it again). The first refusal
// is kept: kustomize wraps the read error in messages of its own, and Build
// reports the refusal as it is.
func (o *overlay) charge(p, real string) (bool, error) {
	if o.exceeded != nil {
		return false, o.exceeded
	}
	if o.charged[p] {
		return false, nil
	}
	if o.maxRead > 0 {
		fi, err := os.Stat(real)
		if err != nil || !fi.Mode().IsRegular() {
			return false, nil // the read itself reports it
		}
		if o.read+fi.Size() > o.maxRead {
			o.exceeded = &LimitError{Limit: LimitReadBytes, File: strings.TrimPrefix(p, "/"),
				Size: o.read + fi.Size(), Max: o.maxRead}
			return false, o.exceeded
		}
		o.read += fi.Size()
	}
	if o.charged == nil {
		o.charged = map[string]bool{}
	}
	o.charged[p] = true
	return true, nil
}

// countObjects adds the objects of a manifest the build read for the first
// time to the overlay's count, and refuses the read once the count passes
// maxObjects: kustomize's cost grows with the square of the objects, so
// they must be counted before it runs, not in its output. The count is a
// fast scan, not a parse: a YAML document with a top-level "kind" counts
// one (a List counts one, so Build counts the output again), a JSON file
// one; kustomization files do not count, patch files do.
func (o *overlay) countObjects(p string, data []byte) error {
	if o.maxObjects <= 0 {
		return nil
	}
	switch filepath.Ext(p) {
	case ".yaml", ".yml":
		if k := filepath.Base(p); k == "kustomization.yaml" || k == "kustomization.yml" {
			return nil
		}
		o.objects += yamlObjects(data)
	case ".json":
		o.objects++
	default:
		return nil
	}
	if o.objects > o.maxObjects {
		o.exceeded = &LimitError{Limit: LimitObjects, File: strings.TrimPrefix(p, "/"),
			Size: int64(o.objects), Max: int64(o.maxObjects)}
		return o.exceeded
	}
	return nil
}

// yamlObjects counts the documents of a YAML stream that have a top-level
// kind.
func yamlObjects(data []byte) int {
	n, counted := 0, false
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		switch {
		case bytes.HasPrefix(line, []byte("---")):
			counted = false
		case !counted && bytes.HasPrefix(line, []byte("kind:")):
			n, counted = n+1, true
		}
	}
	return n
}

// checkObjects refuses a build whose output has more than max objects (0:
// no limit).
func checkObjects(n, max int) error {
	if max > 0 && n > max {
		return &LimitError{Limit: LimitObjects, Size: int64(n), Max: int64(max)}
	}
	return nil
}

// limitOr returns the read the overlay refused, when there was one, in
// place of err: whatever failed after it failed because of it.
func limitOr(fsys *overlay, err error) error {
	if fsys.exceeded != nil {
		return fsys.exceeded
	}
	return err
}
