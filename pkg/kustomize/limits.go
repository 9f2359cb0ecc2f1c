package kustomize

import (
	"fmt"
	"os"
	"strings"
)

// Why a build has limits: kustomize holds every resource it reads as a
// YAML node tree, which takes many times the bytes of the file, so one
// oversized manifest in an artifact (well within the fetcher's size cap)
// could take a controller's memory past its container limit and kill the
// reconciles of every other Kustomization with it. The limits refuse such
// a build before kustomize parses the input (Options.MaxReadBytes) and
// before its output is converted and applied (Options.MaxObjects), with an
// error that names the size and the limit, so the cluster keeps what the
// last good revision applied.

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
	// File is the file whose reading crossed MaxReadBytes, relative to the
	// artifact; empty for MaxObjects.
	File string
	// Size is what the build would have reached: bytes read, or objects.
	Size int64
	// Max is the limit.
	Max int64
}

func (e *LimitError) Error() string {
	if e.Limit == LimitObjects {
		return fmt.Sprintf("the build has %d objects, more than the limit of %d objects per build", e.Size, e.Max)
	}
	return fmt.Sprintf("the build's input reaches %d bytes with '%s', more than the limit of %d bytes per build",
		e.Size, e.File, e.Max)
}

// charge counts the size of the on-disk file real (virtual path p) against
// the overlay's read budget before it is read, and refuses the read once
// the budget is spent. A file is counted once however often it is read (a
// generated kustomization reads each file to check it, then kustomize
// reads it again). The first refusal is kept: kustomize wraps the read
// error in messages of its own, and Build reports the refusal as it is.
func (o *overlay) charge(p, real string) error {
	if o.maxRead <= 0 || o.charged[p] {
		return nil
	}
	fi, err := os.Stat(real)
	if err != nil {
		return nil // the read itself reports it
	}
	if o.read+fi.Size() > o.maxRead {
		if o.exceeded == nil {
			o.exceeded = &LimitError{Limit: LimitReadBytes, File: strings.TrimPrefix(p, "/"),
				Size: o.read + fi.Size(), Max: o.maxRead}
		}
		return o.exceeded
	}
	if o.charged == nil {
		o.charged = map[string]bool{}
	}
	o.charged[p] = true
	o.read += fi.Size()
	return nil
}

// checkObjects refuses a build with more than max objects (0: no limit).
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
