package kustomize

import (
	"testing"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/apis/meta"
)

// BenchmarkBuild measures one build of a directory with three small
// objects, the cost the reconciler pays per Kustomization and interval.
func BenchmarkBuild(b *testing.B) {
	files := map[string]string{
		"app/deploy.yaml": deploymentYAML,
		"app/config.yaml": configMapYAML,
		"app/ns.yaml":     namespaceYAML,
	}
	withKustomization := map[string]string{"app/kustomization.yaml": "resources: [ns.yaml, config.yaml, deploy.yaml]\n"}
	cases := []struct {
		name  string
		files map[string]string
		opts  Options
	}{
		{name: "generated", files: files},
		{name: "kustomization", files: merge(files, withKustomization)},
		{name: "generated+spec", files: files, opts: Options{
			TargetNamespace: "apps",
			NamePrefix:      "p-",
			Images:          []meta.Image{{Name: "nginx", NewTag: "1.28"}},
			CommonMetadata:  &kustomizev1.CommonMetadata{Labels: map[string]string{"team": "a"}},
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			root := writeTree(b, c.files)
			b.ReportAllocs()
			for b.Loop() {
				objs, err := Build(root, "app", c.opts)
				if err != nil || len(objs) != 3 {
					b.Fatalf("build: %v (%d objects)", err, len(objs))
				}
			}
		})
	}
}

func merge(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}
