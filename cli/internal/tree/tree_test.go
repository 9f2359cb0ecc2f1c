package tree

import (
	"bytes"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestInventory(t *testing.T) {
	g := NewWithT(t)
	ks := &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"inventory": map[string]any{
		"entries": []any{
			map[string]any{"id": "apps_web_apps_Deployment", "v": "v1"},
			map[string]any{"id": "_system__viewer_rbac.authorization.k8s.io_ClusterRole", "v": "v1"},
		},
	}}}}
	nodes, err := inventory(ks)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(nodes).To(HaveLen(2))
	g.Expect(*nodes[0]).To(Equal(Node{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "apps", Name: "web"}))
	g.Expect(nodes[1].Ref()).To(Equal("ClusterRole/system:viewer"), "Flux writes ':' as '__' in ids")

	ks.Object["status"] = map[string]any{"inventory": map[string]any{"entries": []any{map[string]any{"id": "nonsense"}}}}
	_, err = inventory(ks)
	g.Expect(err).To(MatchError(ContainSubstring(`"nonsense"`)))
}

func TestPrintAndOrder(t *testing.T) {
	g := NewWithT(t)
	kids := []*Node{
		{Group: "kustomize.toolkit.fluxcd.io", Kind: "Kustomization", Namespace: "a", Name: "child", Health: "InProgress", Message: "reconciling",
			Children: []*Node{{Kind: "ConfigMap", Namespace: "a", Name: "x", Health: "Current"}}},
		{Group: "apps", Kind: "Deployment", Namespace: "a", Name: "web", Health: "Failed", Message: "Progress deadline exceeded"},
		{Kind: "ConfigMap", Namespace: "a", Name: "cfg", Health: "NotFound"},
	}
	root := &Node{Kind: "Kustomization", Namespace: "a", Name: "root", Health: "Current"}
	g.Expect(less(kids[1], kids[0])).To(BeTrue(), "leaves before sub-trees")
	g.Expect(less(kids[2], kids[1])).To(BeTrue(), "then by kind")
	root.Children = []*Node{kids[2], kids[1], kids[0]}
	var b bytes.Buffer
	g.Expect(Print(&b, root)).To(Succeed())
	g.Expect(b.String()).To(Equal(`Kustomization/a/root Current
├── ConfigMap/a/cfg NotFound
├── Deployment/a/web Failed: Progress deadline exceeded
└── Kustomization/a/child InProgress: reconciling
    └── ConfigMap/a/x Current
`))
	g.Expect(Count(root)).To(Equal(map[string]int{"Current": 2, "NotFound": 1, "Failed": 1, "InProgress": 1}))
}

func TestManifestObjects(t *testing.T) {
	g := NewWithT(t)
	objs, err := ManifestObjects("---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# empty\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: n\n")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(objs).To(HaveLen(2))
	g.Expect(objs[0].GetName()).To(Equal("a"), "in the manifest's order")
	g.Expect(objs[1].GetKind()).To(Equal("Namespace"))
}
