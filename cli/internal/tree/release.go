package tree

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/releaseutil"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Release is where a HelmRelease's current Helm release is stored, read
// from its status as Flux's helm-controller writes it.
type Release struct {
	Name      string
	Namespace string
	Version   int64
	// StorageNamespace holds the release Secret.
	StorageNamespace string
}

// CurrentRelease reads the latest snapshot of status.history; ok is false
// when nothing was released yet.
func CurrentRelease(hr *unstructured.Unstructured) (Release, bool) {
	history, _, _ := unstructured.NestedSlice(hr.Object, "status", "history")
	if len(history) == 0 {
		return Release{}, false
	}
	h, _ := history[0].(map[string]any)
	r := Release{}
	r.Name, _ = h["name"].(string)
	r.Namespace, _ = h["namespace"].(string)
	r.Version, _ = h["version"].(int64)
	r.StorageNamespace, _, _ = unstructured.NestedString(hr.Object, "status", "storageNamespace")
	if r.StorageNamespace == "" {
		r.StorageNamespace, _, _ = unstructured.NestedString(hr.Object, "spec", "storageNamespace")
	}
	if r.StorageNamespace == "" {
		r.StorageNamespace = hr.GetNamespace()
	}
	return r, r.Name != "" && r.Version > 0
}

// Manifest reads the release's rendered manifest from Helm's Secret
// storage, as helm get manifest does.
func (w *Walker) Manifest(ctx context.Context, r Release) (string, error) {
	releases := storage.Init(driver.NewSecrets(w.Kube.CoreV1().Secrets(r.StorageNamespace)))
	rel, err := releases.Get(r.Name, int(r.Version))
	if err != nil {
		if apierrors.IsForbidden(err) {
			return "", fmt.Errorf("forbidden by RBAC: reading Helm release %s needs get on secrets in %s", r.Name, r.StorageNamespace)
		}
		return "", fmt.Errorf("reading Helm release %s/%s v%d: %w", r.StorageNamespace, r.Name, r.Version, err)
	}
	return rel.Manifest, nil
}

// ManifestObjects splits a release manifest into objects, in the
// manifest's order; empty documents are skipped.
func ManifestObjects(manifest string) ([]*unstructured.Unstructured, error) {
	parts := releaseutil.SplitManifests(manifest)
	keys := make([]string, 0, len(parts))
	for k := range parts {
		keys = append(keys, k)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	var out []*unstructured.Unstructured
	for _, k := range keys {
		doc := strings.TrimSpace(parts[k])
		if doc == "" {
			continue
		}
		obj := &unstructured.Unstructured{}
		j, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("reading the release manifest: %w", err)
		}
		if err := obj.UnmarshalJSON(j); err != nil {
			if strings.TrimSpace(string(j)) == "null" {
				continue
			}
			return nil, fmt.Errorf("reading the release manifest: %w", err)
		}
		out = append(out, obj)
	}
	return out, nil
}

// release lists the objects of a HelmRelease's current release; objects
// without a namespace get the release's when their kind is namespaced.
func (w *Walker) release(ctx context.Context, hr *unstructured.Unstructured) ([]*Node, error) {
	r, ok := CurrentRelease(hr)
	if !ok {
		return nil, nil
	}
	manifest, err := w.Manifest(ctx, r)
	if err != nil {
		return nil, err
	}
	objs, err := ManifestObjects(manifest)
	if err != nil {
		return nil, err
	}
	var out []*Node
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		ns := o.GetNamespace()
		if ns == "" {
			if namespaced, err := w.Client.IsObjectNamespaced(o); err == nil && namespaced {
				ns = r.Namespace
			}
		}
		out = append(out, &Node{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: ns, Name: o.GetName()})
	}
	return out, nil
}
