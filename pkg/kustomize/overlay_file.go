package kustomize

import (
	"bytes"
	"io/fs"
	"os"
	"time"
)

// fileInfo is the os.FileInfo of a virtual path.
type fileInfo struct {
	name string
	size int64
	dir  bool
	mod  time.Time
}

func (fi fileInfo) Name() string       { return fi.name }
func (fi fileInfo) Size() int64        { return fi.size }
func (fi fileInfo) ModTime() time.Time { return fi.mod }
func (fi fileInfo) IsDir() bool        { return fi.dir }
func (fi fileInfo) Sys() any           { return nil }
func (fi fileInfo) Mode() fs.FileMode {
	if fi.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}

// memFile is an open file of the in-memory layer.
type memFile struct {
	o        *overlay
	path     string
	r        *bytes.Reader
	writable bool
}

func (f *memFile) Read(p []byte) (int, error) {
	if f.r == nil {
		return 0, &fs.PathError{Op: "read", Path: f.path, Err: fs.ErrPermission}
	}
	return f.r.Read(p)
}

func (f *memFile) Write(p []byte) (int, error) {
	if !f.writable {
		return 0, &fs.PathError{Op: "write", Path: f.path, Err: fs.ErrPermission}
	}
	f.o.files[f.path] = append(f.o.files[f.path], p...)
	return len(p), nil
}

func (f *memFile) Close() error { return nil }

func (f *memFile) Stat() (os.FileInfo, error) { return f.o.info(f.path) }
