package action

import (
	"bytes"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	"github.com/ferrycd/ferry/pkg/apis/meta"
)

const rendered = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.0
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: conf
data:
  k: v
`

func TestPostRenderer(t *testing.T) {
	g := NewWithT(t)
	hr := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "app"}}
	hr.Spec.PostRenderers = []helmv2.PostRenderer{{Kustomize: &helmv2.Kustomize{
		Patches: []meta.Patch{{
			Target: &meta.Selector{Kind: "ConfigMap", Name: "conf"},
			Patch:  `[{"op":"add","path":"/data/patched","value":"yes"}]`,
		}},
		Images: []meta.Image{{Name: "nginx", NewTag: "2.0"}},
	}}}
	out, err := newPostRenderer(hr).Run(bytes.NewBufferString(rendered))
	g.Expect(err).NotTo(HaveOccurred())
	s := out.String()
	g.Expect(s).To(ContainSubstring("image: nginx:2.0"))
	g.Expect(s).To(ContainSubstring("patched: \"yes\""))
	g.Expect(bytes.Count(out.Bytes(), []byte("helm.toolkit.fluxcd.io/name: 'app'"))).To(Equal(2))
	g.Expect(bytes.Count(out.Bytes(), []byte("helm.toolkit.fluxcd.io/namespace: 'team'"))).To(Equal(2))
}
