package actions

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ferrycd/ferry/cli/internal/objects"
)

func TestSourceOf(t *testing.T) {
	u := func(kind string, fields map[string]any) *unstructured.Unstructured {
		o := &unstructured.Unstructured{Object: fields}
		o.SetKind(kind)
		o.SetNamespace("apps")
		o.SetName("x")
		return o
	}
	for _, tc := range []struct {
		name string
		obj  *unstructured.Unstructured
		want Ref
		err  string
	}{
		{name: "kustomization in its namespace",
			obj:  u("Kustomization", map[string]any{"spec": map[string]any{"sourceRef": map[string]any{"kind": "GitRepository", "name": "fleet"}}}),
			want: Ref{Kind: objects.GitRepository, Namespace: "apps", Name: "fleet"}},
		{name: "kustomization across namespaces",
			obj:  u("Kustomization", map[string]any{"spec": map[string]any{"sourceRef": map[string]any{"kind": "OCIRepository", "name": "m", "namespace": "flux-system"}}}),
			want: Ref{Kind: objects.OCIRepository, Namespace: "flux-system", Name: "m"}},
		{name: "helm release with chartRef",
			obj:  u("HelmRelease", map[string]any{"spec": map[string]any{"chartRef": map[string]any{"kind": "OCIRepository", "name": "chart"}}}),
			want: Ref{Kind: objects.OCIRepository, Namespace: "apps", Name: "chart"}},
		{name: "helm release with a chart template",
			obj:  u("HelmRelease", map[string]any{"status": map[string]any{"helmChart": "flux-system/apps-x"}}),
			want: Ref{Kind: objects.HelmChart, Namespace: "flux-system", Name: "apps-x"}},
		{name: "helm release before its chart exists",
			obj: u("HelmRelease", map[string]any{}), err: "no HelmChart yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := SourceOf(tc.obj)
			if tc.err != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.err)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tc.want))
		})
	}
}
