package action

import (
	"bytes"
	"fmt"

	"helm.sh/helm/v3/pkg/postrender"
	"sigs.k8s.io/kustomize/api/krusty"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/resid"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
)

// postRenderer runs spec.postRenderers' kustomize patches and images in
// order, then labels every object with the HelmRelease's name and
// namespace, as Flux does, so objects can be traced back to it.
type postRenderer struct {
	kustomizations []helmv2.Kustomize
	labels         map[string]string
}

var _ postrender.PostRenderer = (*postRenderer)(nil)

func newPostRenderer(obj *helmv2.HelmRelease) *postRenderer {
	p := &postRenderer{labels: map[string]string{
		helmv2.NameLabel:      obj.Name,
		helmv2.NamespaceLabel: obj.Namespace,
	}}
	for _, r := range obj.Spec.PostRenderers {
		if r.Kustomize != nil {
			p.kustomizations = append(p.kustomizations, *r.Kustomize)
		}
	}
	return p
}

// Run implements postrender.PostRenderer.
func (p *postRenderer) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	data := in.Bytes()
	for _, k := range p.kustomizations {
		out, err := kustomize(data, k)
		if err != nil {
			return nil, fmt.Errorf("kustomize post-renderer failed: %w", err)
		}
		data = out
	}
	nodes, err := kio.FromBytes(data)
	if err != nil {
		return nil, fmt.Errorf("post-renderer could not parse the rendered manifests: %w", err)
	}
	for _, n := range nodes {
		for k, v := range p.labels {
			if err := n.PipeE(kyaml.SetLabel(k, v)); err != nil {
				return nil, err
			}
		}
	}
	s, err := kio.StringAll(nodes)
	if err != nil {
		return nil, err
	}
	return bytes.NewBufferString(s), nil
}

// kustomize applies one postRenderers[].kustomize to the manifests, in an
// in-memory file system that holds nothing else.
func kustomize(manifests []byte, k helmv2.Kustomize) ([]byte, error) {
	fs := filesys.MakeFsInMemory()
	kz := kustypes.Kustomization{Resources: []string{"resources.yaml"}}
	kz.APIVersion, kz.Kind = kustypes.KustomizationVersion, kustypes.KustomizationKind
	for _, p := range k.Patches {
		patch := kustypes.Patch{Patch: p.Patch}
		if t := p.Target; t != nil {
			patch.Target = &kustypes.Selector{
				ResId: resid.ResId{
					Gvk:       resid.Gvk{Group: t.Group, Version: t.Version, Kind: t.Kind},
					Name:      t.Name,
					Namespace: t.Namespace,
				},
				AnnotationSelector: t.AnnotationSelector,
				LabelSelector:      t.LabelSelector,
			}
		}
		kz.Patches = append(kz.Patches, patch)
	}
	for _, img := range k.Images {
		kz.Images = append(kz.Images, kustypes.Image{Name: img.Name, NewName: img.NewName, NewTag: img.NewTag, Digest: img.Digest})
	}
	kzData, err := kyaml.Marshal(kz)
	if err != nil {
		return nil, err
	}
	if err := fs.WriteFile("/work/kustomization.yaml", kzData); err != nil {
		return nil, err
	}
	if err := fs.WriteFile("/work/resources.yaml", manifests); err != nil {
		return nil, err
	}
	opts := krusty.MakeDefaultOptions()
	resMap, err := krusty.MakeKustomizer(opts).Run(fs, "/work")
	if err != nil {
		return nil, err
	}
	return resMap.AsYaml()
}
