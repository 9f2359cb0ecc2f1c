package kustomize

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/provider"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	"github.com/ferrycd/ferry/pkg/apis/meta"
)

// findKustomization returns the virtual path of the kustomization file in
// dir, or "" when dir has none.
func findKustomization(fsys *overlay, dir string) string {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		p := filepath.Join(dir, name)
		if fsys.Exists(p) && !fsys.IsDir(p) {
			return p
		}
	}
	return ""
}

// generateKustomization lists the manifests under dir the way Flux does
// when spec.path has no kustomization file: every *.yaml and *.yml file in
// the tree, except that a sub-directory holding its own kustomization file
// is listed as one resource and not descended into. Every listed file must
// decode as Kubernetes objects; Flux fails the build otherwise, and so do
// we, naming the file, because silently skipping a broken manifest would
// later prune what it used to create.
func generateKustomization(fsys *overlay, dir string) (map[string]any, error) {
	factory := provider.NewDefaultDepProvider().GetResourceFactory()
	var resources []string
	err := fsys.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		if info.IsDir() {
			if findKustomization(fsys, p) != "" {
				resources = append(resources, relative(dir, p))
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		data, err := fsys.ReadFile(p)
		if err != nil {
			return err
		}
		if err := decodes(factory.SliceFromBytes, data); err != nil {
			return fmt.Errorf("%s is not a valid Kubernetes manifest: %w", p, err)
		}
		resources = append(resources, relative(dir, p))
		return nil
	})
	if err != nil {
		return nil, err
	}
	k := map[string]any{
		"apiVersion": kustypes.KustomizationVersion,
		"kind":       kustypes.KustomizationKind,
	}
	if len(resources) > 0 {
		res := make([]any, len(resources))
		for i, r := range resources {
			res[i] = r
		}
		k["resources"] = res
	}
	return k, nil
}

// decodes runs kustomize's decoder and turns its panics on odd input into
// errors.
func decodes[T any](decode func([]byte) (T, error), data []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot decode YAML: %v", r)
		}
	}()
	_, err = decode(data)
	return err
}

// relative returns "./<p relative to dir>", the form Flux writes into a
// generated kustomization.
func relative(dir, p string) string {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return p
	}
	return "./" + filepath.ToSlash(rel)
}

// readKustomization parses a kustomization file into a generic map, so that
// merging the Kustomization's spec into it keeps every field kustomize may
// know and Ferry does not (kustomize then validates them itself).
func readKustomization(fsys *overlay, file string) (map[string]any, error) {
	data, err := fsys.ReadFile(file)
	if err != nil {
		return nil, err
	}
	k := map[string]any{}
	if err := yaml.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("%s is not valid YAML: %w", file, err)
	}
	if k == nil {
		k = map[string]any{}
	}
	return k, nil
}

// mergeSpec applies the Kustomization's build fields to the user's
// kustomization, exactly where Flux applies them: into that kustomization
// itself, not an outer one around it. The difference matters: components
// appended here see the user's namespace, prefix and image rules; spec
// images replace a user's entry of the same name; spec.namePrefix replaces
// the user's prefix instead of stacking on it.
func mergeSpec(k map[string]any, opts Options) error {
	if opts.TargetNamespace != "" {
		k["namespace"] = opts.TargetNamespace
	}
	if opts.NamePrefix != "" {
		k["namePrefix"] = opts.NamePrefix
	}
	if opts.NameSuffix != "" {
		k["nameSuffix"] = opts.NameSuffix
	}
	for _, p := range opts.Patches {
		k["patches"] = appendItem(k["patches"], patchItem(p))
	}
	for _, img := range opts.Images {
		k["images"] = setImage(k["images"], img)
	}
	for _, c := range opts.Components {
		if !isLocalRelative(c) {
			return fmt.Errorf("component %q in spec.components must be a local path relative to spec.path", c)
		}
		k["components"] = appendItem(k["components"], c)
	}
	if cm := opts.CommonMetadata; cm != nil {
		if len(cm.Labels) > 0 {
			k["transformers"] = appendItem(k["transformers"], metadataTransformer("LabelTransformer", "labels", cm.Labels))
		}
		if len(cm.Annotations) > 0 {
			k["transformers"] = appendItem(k["transformers"], metadataTransformer("AnnotationsTransformer", "annotations", cm.Annotations))
		}
	}
	return nil
}

func appendItem(list any, item any) []any {
	l, _ := list.([]any)
	return append(l, item)
}

func patchItem(p meta.Patch) map[string]any {
	item := map[string]any{"patch": p.Patch}
	if t := p.Target; t != nil {
		target := map[string]any{}
		for key, v := range map[string]string{
			"group": t.Group, "version": t.Version, "kind": t.Kind,
			"name": t.Name, "namespace": t.Namespace,
			"labelSelector": t.LabelSelector, "annotationSelector": t.AnnotationSelector,
		} {
			if v != "" {
				target[key] = v
			}
		}
		item["target"] = target
	}
	return item
}

// setImage replaces the entry for the same image name, or appends one, as
// Flux does.
func setImage(list any, img meta.Image) []any {
	entry := map[string]any{"name": img.Name}
	for key, v := range map[string]string{"newName": img.NewName, "newTag": img.NewTag, "digest": img.Digest} {
		if v != "" {
			entry[key] = v
		}
	}
	l, _ := list.([]any)
	for i, existing := range l {
		if m, ok := existing.(map[string]any); ok && m["name"] == img.Name {
			l[i] = entry
			return l
		}
	}
	return append(l, entry)
}

// metadataTransformer returns an inline builtin transformer that sets
// labels or annotations on each object's own metadata only. kustomize's
// commonLabels/commonAnnotations would also touch selectors and pod
// templates, which Flux's commonMetadata does not; as a transformer it runs
// after the user's own, so spec values win, as they do in Flux.
func metadataTransformer(kind, field string, values map[string]string) string {
	t := map[string]any{
		"apiVersion": "builtin",
		"kind":       kind,
		"metadata":   map[string]any{"name": "ferry-common-metadata-" + field},
		field:        values,
		"fieldSpecs": []any{map[string]any{"path": "metadata/" + field, "create": true}},
	}
	data, err := yaml.Marshal(t)
	if err != nil {
		// A map of strings always marshals.
		panic(err)
	}
	return string(data)
}

// isLocalRelative reports whether p is a relative filesystem path rather
// than an absolute path or a URL.
func isLocalRelative(p string) bool {
	if p == "" || filepath.IsAbs(p) || strings.HasPrefix(p, "/") {
		return false
	}
	if u, err := url.Parse(p); err == nil && u.Scheme != "" {
		return false
	}
	return !strings.HasPrefix(p, "git::") && !strings.HasPrefix(p, "git@")
}

// isEmptyKustomization reports whether kustomize would refuse k as empty:
// nothing beyond apiVersion and kind.
func isEmptyKustomization(k map[string]any) bool {
	for key := range k {
		if key != "apiVersion" && key != "kind" {
			return false
		}
	}
	return true
}
