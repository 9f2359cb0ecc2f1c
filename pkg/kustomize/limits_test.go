package kustomize

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func configMaps(n int, prefix string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-%d\n", prefix, i)
	}
	return b.String()
}

func TestBuildLimits(t *testing.T) {
	small, one := configMaps(2, "small"), configMaps(1, "one")
	big := configMaps(200, "big")
	root := writeTree(t, map[string]string{
		// A generated kustomization reads each file twice; it counts once.
		"generated/a.yaml":        small,
		"generated/b.yaml":        one,
		"base/cms.yaml":           small,
		"base/kustomization.yaml": "resources: [cms.yaml]\n",
		// Two overlays of one base read it once.
		"twice/kustomization.yaml": "resources: [../base, ../base2]\n",
		"base2/kustomization.yaml": "resources: [../base/cms.yaml]\nnamePrefix: two-\n",
		"big/cms.yaml":             big,
		// A List counts one while read; its items are counted in the output.
		"list/list.yaml": "apiVersion: v1\nkind: List\nitems:\n" + listItems("item", 3),
	})
	for _, tc := range []struct {
		name, path string
		opts       Options
		// limit is the LimitError expected, "" for a build that passes.
		limit    Limit
		file     string
		wantSize int64
	}{
		{name: "no limits", path: "big"},
		{name: "under both limits", path: "big", opts: Options{MaxReadBytes: int64(len(big)) + 1, MaxObjects: 200}},
		{name: "files read twice count once", path: "generated",
			opts: Options{MaxReadBytes: int64(len(small) + len(one))}},
		{name: "a base shared by two overlays counts once", path: "twice",
			opts: Options{MaxReadBytes: int64(len(small)) + 200}},
		{name: "the file that crosses the read limit is named", path: "big",
			opts: Options{MaxReadBytes: int64(len(big)) - 1}, limit: LimitReadBytes, file: "big/cms.yaml", wantSize: int64(len(big))},
		{name: "too many objects are counted while read", path: "big",
			opts: Options{MaxObjects: 199}, limit: LimitObjects, file: "big/cms.yaml", wantSize: 200},
		{name: "kustomization files are not objects", path: "base", opts: Options{MaxObjects: 2}},
		{name: "the items of a List are counted in the output", path: "list",
			opts: Options{MaxObjects: 2}, limit: LimitObjects, wantSize: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Build(root, tc.path, tc.opts)
			if tc.limit == "" {
				if err != nil {
					t.Fatalf("build failed: %v", err)
				}
				if len(objs) == 0 {
					t.Fatal("build produced no objects")
				}
				return
			}
			var le *LimitError
			if !errors.As(err, &le) {
				t.Fatalf("want a LimitError, got %v", err)
			}
			if le.Limit != tc.limit || le.File != tc.file || le.Size < tc.wantSize || objs != nil {
				t.Fatalf("got %+v and %d objects, want limit %s on %q with size %d", le, len(objs), tc.limit, tc.file, tc.wantSize)
			}
			if msg := err.Error(); !strings.Contains(msg, fmt.Sprint(le.Max)) || !strings.Contains(msg, fmt.Sprint(le.Size)) {
				t.Fatalf("message %q does not name the size and the limit", msg)
			}
		})
	}
}

func listItems(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: %s-%d\n", prefix, i)
	}
	return b.String()
}
