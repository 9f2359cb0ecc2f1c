// Package storagetest gives a source-controller test suite what the binary
// runs next to its reconcilers: a real artifact store and the file server
// that publishes it, so tests download artifacts as consumers do. Every
// controller package's TestMain needs the same few steps; written once here,
// they cannot drift.
package storagetest

import (
	"os"
	"path/filepath"

	"github.com/ferrycd/ferry/pkg/artifact/server"
	"github.com/ferrycd/ferry/pkg/artifact/storage"
	"github.com/ferrycd/ferry/test/harness"
	"github.com/ferrycd/ferry/test/suite"
)

// Start creates a store keeping 2 artifacts per object under a temporary
// directory named after name, removed after the tests, and serves it from
// the suite's manager on a free loopback address. It also returns the
// temporary directory, for other files of the suite (a fetch cache).
func Start(e *suite.Env, name string) (*storage.Storage, string, error) {
	dir, err := os.MkdirTemp("", name+"-storage-")
	if err != nil {
		return nil, "", err
	}
	e.Cleanup(func() { _ = os.RemoveAll(dir) })
	addr := harness.FreeAddr()
	store, err := storage.New(filepath.Join(dir, "data"), addr, 2)
	if err != nil {
		return nil, "", err
	}
	if err := e.Manager.Add(&server.Server{Addr: addr, BasePath: store.BasePath()}); err != nil {
		return nil, "", err
	}
	return store, dir, nil
}
