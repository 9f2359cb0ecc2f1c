package substitute

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// object parses one YAML manifest.
func object(t *testing.T, manifest string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	js, err := yaml.YAMLToJSON([]byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	if err := u.UnmarshalJSON(js); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSubstitute(t *testing.T) {
	tests := []struct {
		name     string
		manifest string
		vars     map[string]string
		strict   bool
		want     string
		wantErr  string
	}{
		{
			name: "replaces braced variables and defaults, leaves $var alone",
			manifest: `apiVersion: v1
kind: ConfigMap
metadata:
  name: app-${env}
  namespace: ${ns:=default}
data:
  region: ${region}
  script: echo $HOME ${missing}
`,
			vars: map[string]string{"env": "prod", "region": "eu-central-1"},
			want: `apiVersion: v1
kind: ConfigMap
metadata:
  name: app-prod
  namespace: default
data:
  region: eu-central-1
  script: echo $HOME # trailing space is lost, as YAML trims plain scalars
`,
		},
		{
			name: "substitution is textual, so values become typed YAML and the quote trick makes strings",
			manifest: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    id: ${quote}${id}${quote}
spec:
  replicas: ${replicas}
  paused: ${paused}
`,
			vars: map[string]string{"replicas": "3", "paused": "false", "quote": `"`, "id": "123"},
			want: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    id: "123"
spec:
  replicas: 3
  paused: false
`,
		},
		{
			name: "an annotation opts the object out",
			manifest: `apiVersion: v1
kind: ConfigMap
metadata:
  name: script
  annotations:
    kustomize.toolkit.fluxcd.io/substitute: disabled
data:
  run: echo ${HOME}
`,
			vars: map[string]string{"HOME": "/root"},
			want: `apiVersion: v1
kind: ConfigMap
metadata:
  name: script
  annotations:
    kustomize.toolkit.fluxcd.io/substitute: disabled
data:
  run: echo ${HOME}
`,
		},
		{
			name: "a label opts the object out too",
			manifest: `apiVersion: v1
kind: ConfigMap
metadata:
  name: script
  labels:
    kustomize.toolkit.fluxcd.io/substitute: disabled
data:
  run: echo ${HOME}
`,
			vars:   map[string]string{"HOME": "/root"},
			strict: true,
			want: `apiVersion: v1
kind: ConfigMap
metadata:
  name: script
  labels:
    kustomize.toolkit.fluxcd.io/substitute: disabled
data:
  run: echo ${HOME}
`,
		},
		{
			name: "nothing is substituted without variables, as in Flux",
			manifest: `apiVersion: v1
kind: ConfigMap
metadata:
  name: x
data:
  a: ${a:=default}
`,
			vars:   map[string]string{},
			strict: true,
			want: `apiVersion: v1
kind: ConfigMap
metadata:
  name: x
data:
  a: ${a:=default}
`,
		},
		{
			name: "strict mode names the variable and the object",
			manifest: `apiVersion: v1
kind: ConfigMap
metadata:
  name: x
  namespace: apps
data:
  a: ${cluster_name}
`,
			vars:    map[string]string{"other": "1"},
			strict:  true,
			wantErr: `variable substitution in ConfigMap/apps/x failed: variable is not set: "cluster_name" has no value and no default`,
		},
		{
			name: "non-strict mode expands a missing variable to nothing",
			manifest: `apiVersion: v1
kind: ConfigMap
metadata:
  name: x
data:
  a: "[${cluster_name}]"
`,
			vars: map[string]string{"other": "1"},
			want: `apiVersion: v1
kind: ConfigMap
metadata:
  name: x
data:
  a: "[]"
`,
		},
		{
			name: "invalid variable names are refused",
			manifest: `apiVersion: v1
kind: ConfigMap
metadata:
  name: x
`,
			vars:    map[string]string{"ok_name": "1", "app.version": "2", "1st": "3"},
			wantErr: `invalid variable name "1st", "app.version": names must match`,
		},
		{
			name: "a value that breaks the YAML is reported with the object",
			manifest: `apiVersion: v1
kind: ConfigMap
metadata:
  name: x
data:
  a: ${v}
`,
			vars:    map[string]string{"v": "[unclosed"},
			wantErr: "variable substitution in ConfigMap/x failed: the result is not valid YAML",
		},
		{
			name: "parse errors of Secrets do not echo their content",
			manifest: `apiVersion: v1
kind: Secret
metadata:
  name: x
stringData:
  a: ${v}
`,
			vars:    map[string]string{"v": "[s3cr3t"},
			wantErr: "variable substitution in Secret/x failed: the result is not valid YAML (check values that hold YAML syntax)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			obj := object(t, tt.manifest)

			err := Substitute([]*unstructured.Unstructured{obj}, tt.vars, tt.strict)

			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				g.Expect(err.Error()).NotTo(ContainSubstring("s3cr3t"))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(obj.Object).To(Equal(object(t, tt.want).Object))
		})
	}
}

func TestSubstituteKeepsNumbersUsableByUnstructured(t *testing.T) {
	g := NewWithT(t)
	obj := object(t, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${n}\nspec:\n  replicas: 2\n")

	g.Expect(Substitute([]*unstructured.Unstructured{obj}, map[string]string{"n": "web"}, false)).To(Succeed())

	g.Expect(obj.GetName()).To(Equal("web"))
	replicas, found, err := unstructured.NestedInt64(obj.Object, "spec", "replicas")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(found).To(BeTrue())
	g.Expect(replicas).To(Equal(int64(2)))
	g.Expect(func() { obj.DeepCopy() }).NotTo(Panic())
}
