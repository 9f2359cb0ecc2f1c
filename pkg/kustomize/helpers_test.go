package kustomize

import (
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/kyaml/openapi"
)

// writeTree writes files (slash paths relative to the root) into a new
// temporary artifact directory and returns it.
func writeTree(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// snapshot fingerprints every entry of a tree, so a test can prove that a
// build left the artifact exactly as it found it.
func snapshot(t testing.TB, root string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			out[p] = sha256.Sum256([]byte("link:" + target))
			return err
		}
		if d.IsDir() {
			out[p] = sha256.Sum256([]byte("dir"))
			return nil
		}
		data, err := os.ReadFile(p)
		out[p] = sha256.Sum256(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ids lists objects as "Kind/namespace/name" in their order.
func ids(objs []*unstructured.Unstructured) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName())
	}
	return out
}

// find returns the object of the given kind and name, or nil.
func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// findPrefix returns the object of the given kind whose name starts with
// prefix (generated objects carry a hash suffix), or nil.
func findPrefix(objs []*unstructured.Unstructured, kind, prefix string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && strings.HasPrefix(o.GetName(), prefix) {
			return o
		}
	}
	return nil
}

// schemaVersion is the OpenAPI schema kustomize currently uses.
func schemaVersion() string { return openapi.GetSchemaVersion() }

const (
	namespaceYAML = `apiVersion: v1
kind: Namespace
metadata:
  name: apps
`
	configMapYAML = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  level: info
`
	deploymentYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.27
`
)
