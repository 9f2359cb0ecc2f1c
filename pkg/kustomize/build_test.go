package kustomize

import (
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/apis/meta"
)

// buildCase is one Build scenario of a table test.
type buildCase struct {
	name  string
	files map[string]string
	path  string
	opts  Options
	// want are the object ids in build order.
	want []string
	// check inspects the objects further.
	check func(g Gomega, objs []*unstructured.Unstructured)
	// wantErr is a substring of the expected error.
	wantErr string
}

// threeObjects is a directory of plain manifests without a kustomization.
var threeObjects = map[string]string{
	"app/deploy.yaml": deploymentYAML,
	"app/config.yml":  configMapYAML,
	"app/ns.yaml":     namespaceYAML,
}

// runBuildCases builds each case in a fresh artifact and checks that the
// artifact is left untouched and that errors never show its location.
func runBuildCases(t *testing.T, tests []buildCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			root := writeTree(t, tt.files)
			before := snapshot(t, root)

			objs, err := Build(root, tt.path, tt.opts)

			g.Expect(snapshot(t, root)).To(Equal(before), "the artifact must not change")
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				g.Expect(err.Error()).NotTo(ContainSubstring(root), "errors name files inside the artifact")
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(ids(objs)).To(Equal(tt.want))
			if tt.check != nil {
				tt.check(g, objs)
			}
		})
	}
}

func TestBuild(t *testing.T) {
	runBuildCases(t, []buildCase{
		{
			name:  "generates a kustomization from all YAML files, in kustomize's legacy order",
			files: threeObjects,
			path:  "./app",
			want:  []string{"Namespace//apps", "ConfigMap//settings", "Deployment//web"},
		},
		{
			name: "generated kustomization skips files that are not YAML",
			files: map[string]string{
				"app/ns.yaml":     namespaceYAML,
				"app/README.md":   "# not a manifest\n",
				"app/values.json": `{"a": 1}`,
			},
			path: "app",
			want: []string{"Namespace//apps"},
		},
		{
			name: "generated kustomization walks sub-directories and stops at nested kustomizations",
			files: map[string]string{
				"app/ns.yaml":                    namespaceYAML,
				"app/deep/er/config.yaml":        configMapYAML,
				"app/base/kustomization.yaml":    "resources: [deploy.yaml]\n",
				"app/base/deploy.yaml":           deploymentYAML,
				"app/base/not-listed.yaml":       "this: is not listed by base/kustomization.yaml\n",
				"app/base/nested/ignored.yaml":   "also: ignored\n",
				"app/base/nested/ignored2.yaml":  "{",
				"app/deep/er/configmap-two.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: two\n",
			},
			path: "app",
			want: []string{"Namespace//apps", "ConfigMap//settings", "ConfigMap//two", "Deployment//web"},
		},
		{
			name: "generated kustomization refuses a YAML file that is not a Kubernetes object, naming it",
			files: map[string]string{
				"app/ns.yaml":          namespaceYAML,
				"app/ci/gitlab-ci.yml": "stages: [test]\n",
			},
			path:    "app",
			wantErr: "/app/ci/gitlab-ci.yml is not a valid Kubernetes manifest",
		},
		{
			name:  "an empty directory builds nothing",
			files: map[string]string{"app/README.md": "empty\n"},
			path:  "app",
			want:  []string{},
		},
		{
			name:  "the artifact root is the default path",
			files: map[string]string{"ns.yaml": namespaceYAML},
			path:  "",
			want:  []string{"Namespace//apps"},
		},
		{
			name: "an existing kustomization.yml is used as is",
			files: map[string]string{
				"app/kustomization.yml": "namespace: team\nresources: [config.yaml]\n",
				"app/config.yaml":       configMapYAML,
				"app/deploy.yaml":       deploymentYAML,
			},
			path: "app",
			want: []string{"ConfigMap/team/settings"},
		},
		{
			name: "a file named Kustomization is recognised",
			files: map[string]string{
				"app/Kustomization": "resources: [config.yaml]\n",
				"app/config.yaml":   configMapYAML,
			},
			path: "app",
			want: []string{"ConfigMap//settings"},
		},
		{
			name: "files are loaded from anywhere inside the artifact, as in Flux",
			files: map[string]string{
				"app/kustomization.yaml": "resources: [../shared/config.yaml]\npatches:\n- path: ../patches/level.yaml\n",
				"shared/config.yaml":     configMapYAML,
				"patches/level.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  level: debug\n",
			},
			path: "app",
			want: []string{"ConfigMap//settings"},
			check: func(g Gomega, objs []*unstructured.Unstructured) {
				g.Expect(objs[0].Object["data"]).To(HaveKeyWithValue("level", "debug"))
			},
		},
		{
			name: "targetNamespace, namePrefix and nameSuffix replace the kustomization's own",
			files: map[string]string{
				"app/kustomization.yaml": "namespace: theirs\nnamePrefix: their-\nresources: [config.yaml]\n",
				"app/config.yaml":        configMapYAML,
			},
			path: "app",
			opts: Options{TargetNamespace: "ours", NamePrefix: "our-", NameSuffix: "-v1"},
			want: []string{"ConfigMap/ours/our-settings-v1"},
		},
		{
			name:  "patches apply to their targets: strategic merge by label selector, JSON 6902 by name",
			files: threeObjects,
			path:  "app",
			opts: Options{Patches: []meta.Patch{
				{
					Patch:  "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: any\nspec:\n  replicas: 2\n",
					Target: &meta.Selector{Kind: "Deployment", LabelSelector: "app=web"},
				},
				{
					Patch:  "- op: replace\n  path: /data/level\n  value: warn\n",
					Target: &meta.Selector{Version: "v1", Kind: "ConfigMap", Name: "settings"},
				},
			}},
			want: []string{"Namespace//apps", "ConfigMap//settings", "Deployment//web"},
			check: func(g Gomega, objs []*unstructured.Unstructured) {
				replicas, _, _ := unstructured.NestedInt64(find(objs, "Deployment", "web").Object, "spec", "replicas")
				g.Expect(replicas).To(Equal(int64(2)))
				g.Expect(find(objs, "ConfigMap", "settings").Object["data"]).To(HaveKeyWithValue("level", "warn"))
			},
		},
		{
			name:    "a patch that does not apply fails the build",
			files:   threeObjects,
			path:    "app",
			opts:    Options{Patches: []meta.Patch{{Patch: "- op: remove\n  path: /spec/missing\n", Target: &meta.Selector{Kind: "Deployment"}}}},
			wantErr: "kustomize build of /app failed",
		},
		{
			name: "images replace the kustomization's entry of the same name",
			files: map[string]string{
				"app/kustomization.yaml": "resources: [deploy.yaml]\nimages:\n- name: nginx\n  newName: registry.local/nginx\n",
				"app/deploy.yaml":        deploymentYAML,
			},
			path: "app",
			opts: Options{Images: []meta.Image{{Name: "nginx", NewTag: "1.28"}}},
			want: []string{"Deployment//web"},
			check: func(g Gomega, objs []*unstructured.Unstructured) {
				containers, _, _ := unstructured.NestedSlice(objs[0].Object, "spec", "template", "spec", "containers")
				g.Expect(containers[0]).To(HaveKeyWithValue("image", "nginx:1.28"))
			},
		},
		{
			name:  "images can set a digest",
			files: threeObjects,
			path:  "app",
			opts:  Options{Images: []meta.Image{{Name: "nginx", NewName: "mirror/nginx", Digest: "sha256:24a0c4b4a4c0eb97a1aabb8e29f18e917d05abfe1b7a7c07857230879ce7d3d3"}}},
			want:  []string{"Namespace//apps", "ConfigMap//settings", "Deployment//web"},
			check: func(g Gomega, objs []*unstructured.Unstructured) {
				containers, _, _ := unstructured.NestedSlice(find(objs, "Deployment", "web").Object, "spec", "template", "spec", "containers")
				g.Expect(containers[0]).To(HaveKeyWithValue("image",
					"mirror/nginx@sha256:24a0c4b4a4c0eb97a1aabb8e29f18e917d05abfe1b7a7c07857230879ce7d3d3"))
			},
		},
		{
			name: "components are relative to the path and see the kustomization's namespace",
			files: map[string]string{
				"app/kustomization.yaml":              "namespace: team\nresources: [config.yaml]\n",
				"app/config.yaml":                     configMapYAML,
				"components/extra/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [extra.yaml]\n",
				"components/extra/extra.yaml":         "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n",
			},
			path: "app",
			opts: Options{Components: []string{"../components/extra"}},
			want: []string{"ConfigMap/team/extra", "ConfigMap/team/settings"},
		},
		{
			name:    "a component must be a local relative path",
			files:   threeObjects,
			path:    "app",
			opts:    Options{Components: []string{"https://example.com/component"}},
			wantErr: `component "https://example.com/component" in spec.components must be a local path`,
		},
		{
			name:  "commonMetadata sets labels and annotations on object metadata only, overriding existing values",
			files: threeObjects,
			path:  "app",
			opts: Options{CommonMetadata: &kustomizev1.CommonMetadata{
				Labels:      map[string]string{"app": "shop", "team": "a"},
				Annotations: map[string]string{"owner": "team-a"},
			}},
			want: []string{"Namespace//apps", "ConfigMap//settings", "Deployment//web"},
			check: func(g Gomega, objs []*unstructured.Unstructured) {
				for _, o := range objs {
					g.Expect(o.GetLabels()).To(HaveKeyWithValue("team", "a"), o.GetName())
					g.Expect(o.GetAnnotations()).To(Equal(map[string]string{"owner": "team-a"}), o.GetName())
				}
				d := find(objs, "Deployment", "web").Object
				g.Expect(d["metadata"]).To(HaveKeyWithValue("labels", HaveKeyWithValue("app", "shop")))
				selector, _, _ := unstructured.NestedStringMap(d, "spec", "selector", "matchLabels")
				g.Expect(selector).To(Equal(map[string]string{"app": "web"}))
				template, _, _ := unstructured.NestedMap(d, "spec", "template", "metadata")
				g.Expect(template).To(Equal(map[string]any{"labels": map[string]any{"app": "web"}}))
			},
		},
		{
			name: "a malformed kustomization.yaml is reported with its path",
			files: map[string]string{
				"app/kustomization.yaml": "resources: [a.yaml\n",
			},
			path:    "app",
			wantErr: "/app/kustomization.yaml is not valid YAML",
		},
		{
			name: "a kustomization field kustomize does not know is reported",
			files: map[string]string{
				"app/kustomization.yaml": "resourcez: [a.yaml]\n",
			},
			path:    "app",
			wantErr: `unknown field "resourcez"`,
		},
		{
			name: "malformed YAML in a resource is reported with its path",
			files: map[string]string{
				"app/kustomization.yaml": "resources: [bad.yaml]\n",
				"app/bad.yaml":           "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [\n",
			},
			path:    "app",
			wantErr: "MalformedYAMLError: yaml: line 4: did not find expected node content in File: bad.yaml",
		},
	})
}

func TestBuildIsSafeToRunConcurrently(t *testing.T) {
	g := NewWithT(t)
	root := writeTree(t, map[string]string{
		"app/deploy.yaml":           deploymentYAML,
		"app/config.yaml":           configMapYAML,
		"app/ns.yaml":               namespaceYAML,
		"custom/kustomization.yaml": "openapi:\n  version: v1.21.2\nresources: [config.yaml]\n",
		"custom/config.yaml":        configMapYAML,
	})
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := "app"
			if i%8 == 0 {
				path = "custom"
			}
			_, err := Build(root, path, Options{TargetNamespace: "ns", NamePrefix: "x-"})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		g.Expect(err).NotTo(HaveOccurred())
	}
	g.Expect(schemaVersion()).To(Equal(defaultSchema), "a custom schema must not outlive its build")
}
