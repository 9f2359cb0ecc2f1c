package kustomize

import (
	"net/http"
	"net/http/httptest"
	"testing"

	. "github.com/onsi/gomega"
)

// TestBuildReportsRemoteReferences: Options.Remote says whether a build
// read anything over HTTP (a resource, or a file such as a patch, in any
// nested kustomization), which the artifact's digest does not pin, so the
// controller knows which builds it may reuse.
func TestBuildReportsRemoteReferences(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: remote\ndata:\n  key: v\n"))
	}))
	defer srv.Close()
	for name, tc := range map[string]struct {
		files map[string]string
		want  bool
	}{
		"local only": {files: map[string]string{"app/kustomization.yaml": "resources: [config.yaml]\n", "app/config.yaml": configMapYAML}},
		"an HTTP resource": {files: map[string]string{
			"app/kustomization.yaml": "resources: [config.yaml, ../base]\n", "app/config.yaml": configMapYAML,
			"base/kustomization.yaml": "resources: [" + srv.URL + "/cm.yaml]\n",
		}, want: true},
		"an HTTP patch file": {files: map[string]string{
			"app/kustomization.yaml": "resources: [config.yaml]\npatches:\n- path: " + srv.URL + "/patch.yaml\n",
			"app/config.yaml":        configMapYAML,
		}, want: true},
	} {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			remote := !tc.want
			_, _ = Build(writeTree(t, tc.files), "app", Options{Remote: &remote})
			g.Expect(remote).To(Equal(tc.want))
		})
	}
}
