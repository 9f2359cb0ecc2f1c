package kustomize

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// outsideMarker is in a file next to the artifact; no build may read it.
const outsideMarker = "outside-the-artifact-4b1d"

// FuzzBuild builds generated trees: an overlay whose kustomization.yaml and
// resource file are fuzzed, over a fixed base, at a fuzzed spec.path, with
// remote bases off as a locked-down controller runs. An artifact is
// untrusted input: nothing may panic, the artifact is left exactly as it
// was, and no object carries content of the file that sits next to the
// artifact, however the kustomization points at it. The seed corpus is in
// testdata/fuzz.
func FuzzBuild(f *testing.F) {
	f.Add("resources: [res.yaml, ../base]\nnamePrefix: a-\n", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: res\n", "app")
	f.Add("resources: [../../outside.yaml]\n", "", "app")
	f.Add("configMapGenerator:\n- name: g\n  files: [../../outside.yaml]\n", "", "./app")
	f.Add("", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n", "../..")
	f.Add("components: [../base]\npatches:\n- path: /outside.yaml\n", "", "app")

	f.Fuzz(func(t *testing.T, kustomization, resource, path string) {
		if strings.Contains(kustomization+resource+path, outsideMarker) {
			// The marker must come from the outside file to mean anything.
			return
		}
		parent := t.TempDir()
		outside := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: outside\ndata:\n  k: " + outsideMarker + "\n"
		if err := os.WriteFile(filepath.Join(parent, "outside.yaml"), []byte(outside), 0o644); err != nil {
			t.Fatal(err)
		}
		root := filepath.Join(parent, "artifact")
		files := map[string]string{
			"app/res.yaml":            resource,
			"base/kustomization.yaml": "resources: [cm.yaml]\n",
			"base/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base\n",
		}
		if kustomization != "" {
			files["app/kustomization.yaml"] = kustomization
		}
		for name, content := range files {
			p := filepath.Join(root, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		before := snapshot(t, parent)

		objs, err := Build(root, path, Options{NoRemoteBases: true})
		if !maps.Equal(before, snapshot(t, parent)) {
			t.Fatalf("the build changed the artifact or its parent")
		}
		if err != nil {
			return
		}
		for _, obj := range objs {
			data, jerr := json.Marshal(obj.Object)
			if jerr != nil {
				t.Fatal(jerr)
			}
			if strings.Contains(string(data), outsideMarker) {
				t.Fatalf("an object holds the file outside the artifact: %s", data)
			}
		}
	})
}
