package kustomize

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
)

// TestBuildConfinement covers what a kustomization may not reach: files
// outside the artifact, remote bases, plugins that run programs.
func TestBuildConfinement(t *testing.T) {
	runBuildCases(t, []buildCase{
		{
			name:    "a path leading out of the artifact is refused",
			files:   threeObjects,
			path:    "../../etc",
			wantErr: `spec.path "../../etc" points outside the source artifact`,
		},
		{
			name:    "a missing path is an error",
			files:   threeObjects,
			path:    "./missing",
			wantErr: `spec.path "./missing": no such directory in the artifact`,
		},
		{
			name: "resources cannot climb out of the artifact",
			files: map[string]string{
				"app/kustomization.yaml": "resources: [../../../../../../etc/passwd]\n",
			},
			path:    "app",
			wantErr: "/etc/passwd",
		},
		{
			name: "absolute resource paths stay inside the artifact",
			files: map[string]string{
				"app/kustomization.yaml": "resources: [/etc/hostname]\n",
			},
			path:    "app",
			wantErr: "/etc/hostname",
		},
		{
			name: "exec KRM functions are refused",
			files: map[string]string{
				"app/kustomization.yaml": "resources: [config.yaml]\ntransformers: [fn.yaml]\n",
				"app/config.yaml":        configMapYAML,
				"app/fn.yaml": `apiVersion: example.com/v1
kind: Run
metadata:
  name: run
  annotations:
    config.kubernetes.io/function: |
      exec:
        path: /bin/sh
`,
			},
			path:    "app",
			wantErr: "kustomize build of /app failed",
		},
		{
			name: "helm charts are refused",
			files: map[string]string{
				"app/kustomization.yaml": "helmCharts:\n- name: podinfo\n  repo: https://stefanprodan.github.io/podinfo\n  version: 6.0.0\n",
			},
			path:    "app",
			wantErr: "kustomize build of /app failed",
		},
		{
			name: "HTTP resources are refused with --no-remote-bases",
			files: map[string]string{
				"app/kustomization.yaml": "resources: [https://example.com/manifests.yaml]\n",
			},
			path:    "app",
			opts:    Options{NoRemoteBases: true},
			wantErr: `/app/kustomization.yaml: remote resource "https://example.com/manifests.yaml" is not allowed: remote bases are disabled (--no-remote-bases)`,
		},
		{
			name: "remote bases are found in nested kustomizations too",
			files: map[string]string{
				"app/kustomization.yaml":  "resources: [../base]\n",
				"base/kustomization.yaml": "resources: [http://example.com/x.yaml]\n",
			},
			path:    "app",
			opts:    Options{NoRemoteBases: true},
			wantErr: `/base/kustomization.yaml: remote resource "http://example.com/x.yaml" is not allowed`,
		},
		{
			name: "HTTP patch files are refused with --no-remote-bases",
			files: map[string]string{
				"app/kustomization.yaml": "resources: [config.yaml]\npatches:\n- path: https://example.com/patch.yaml\n",
				"app/config.yaml":        configMapYAML,
			},
			path:    "app",
			opts:    Options{NoRemoteBases: true},
			wantErr: `remote file "https://example.com/patch.yaml" is not allowed`,
		},
		{
			name: "git remote bases are refused with a clear error",
			files: map[string]string{
				"app/kustomization.yaml": "resources:\n- github.com/stefanprodan/podinfo//kustomize?ref=6.0.0\n",
			},
			path:    "app",
			wantErr: `remote git base "github.com/stefanprodan/podinfo//kustomize?ref=6.0.0" is not supported`,
		},
		{
			name: "git:: bases are refused with a clear error",
			files: map[string]string{
				"app/kustomization.yaml": "resources:\n- git::https://example.com/repo.git//base\n",
			},
			path:    "app",
			wantErr: `remote git base "git::https://example.com/repo.git//base" is not supported`,
		},
		{
			name: "a local directory named like a host is a local base",
			files: map[string]string{
				"app/kustomization.yaml":                  "resources: [example.com/base]\n",
				"app/example.com/base/kustomization.yaml": "resources: [config.yaml]\n",
				"app/example.com/base/config.yaml":        configMapYAML,
			},
			path: "app",
			want: []string{"ConfigMap//settings"},
		}})
}

func TestBuildDoesNotFollowSymlinksOutOfTheArtifact(t *testing.T) {
	g := NewWithT(t)
	outside := writeTree(t, map[string]string{"secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: stolen\n"})
	root := writeTree(t, map[string]string{"app/ns.yaml": namespaceYAML})
	g.Expect(os.Symlink(filepath.Join(outside, "secret.yaml"), filepath.Join(root, "app", "leak.yaml"))).To(Succeed())
	g.Expect(os.Symlink(outside, filepath.Join(root, "app", "dir"))).To(Succeed())

	objs, err := Build(root, "app", Options{})

	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ids(objs)).To(Equal([]string{"Namespace//apps"}))
}
