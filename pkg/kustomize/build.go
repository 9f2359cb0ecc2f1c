// Package kustomize builds a Kustomization: it runs kustomize on a directory
// of an extracted source artifact the way Flux's kustomize-controller does,
// so that existing Flux repositories build unchanged: a kustomization.yaml is
// generated when the directory has none, and the Kustomization's build fields
// (targetNamespace, namePrefix, nameSuffix, patches, images, components,
// commonMetadata) are merged into it.
//
// It lives in pkg, not in kustomize-controller, because the ferry CLI must
// build a Kustomization exactly as the controller does (a diff against a
// build that differs from the controller's would lie). SOPS decryption stays
// in kustomize-controller: the build only calls the Decryptor it is given,
// so the CLI, which never decrypts, links no decryption code.
//
// Unlike Flux, it never writes to the artifact: the reconciler shares one
// extracted artifact between all Kustomizations of a revision, so kustomize
// runs on an overlay filesystem that reads the artifact and keeps every
// write in memory. The same overlay confines kustomize to the artifact.
package kustomize

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/openapi"
	"sigs.k8s.io/yaml"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/apis/meta"
)

// Options are the Kustomization spec fields that change the build, and the
// controller's build policy.
type Options struct {
	// TargetNamespace sets the namespace of every namespaced object.
	TargetNamespace string
	// NamePrefix and NameSuffix replace the kustomization's own.
	NamePrefix string
	NameSuffix string
	// Patches are appended to the kustomization's patches.
	Patches []meta.Patch
	// Images replace entries of the same name, or are appended.
	Images []meta.Image
	// Components are paths relative to the build directory.
	Components []string
	// CommonMetadata labels and annotations are set on every object's own
	// metadata, overriding existing values.
	CommonMetadata *kustomizev1.CommonMetadata
	// NoRemoteBases refuses every HTTP(S) resource or file
	// (--no-remote-bases).
	NoRemoteBases bool
	// Decryptor, when set, decrypts secretGenerator inputs before kustomize
	// reads them.
	Decryptor Decryptor
	// MaxReadBytes refuses a build that would read more bytes of files from
	// the artifact, before kustomize parses the file that crosses it; 0
	// means no limit. See limits.go.
	MaxReadBytes int64
	// MaxObjects refuses a build that produces more objects; 0 means no
	// limit.
	MaxObjects int
	// Remote, when not nil, is set to whether the kustomization refers to
	// anything fetched over HTTP(S): content the artifact's digest does not
	// pin, so a caller must not reuse an earlier build of the same digest.
	Remote *bool
}

// changesKustomization reports whether any spec field is merged into the
// kustomization.
func (o Options) changesKustomization() bool {
	cm := o.CommonMetadata != nil && (len(o.CommonMetadata.Labels) > 0 || len(o.CommonMetadata.Annotations) > 0)
	return o.TargetNamespace != "" || o.NamePrefix != "" || o.NameSuffix != "" ||
		len(o.Patches) > 0 || len(o.Images) > 0 || len(o.Components) > 0 || cm
}

// Build builds the kustomization at path inside root (the extracted
// artifact, which is only read) and returns the objects in kustomize's
// legacy order (namespaces and CRDs first, webhooks last), or in the order
// the kustomization's sortOptions ask for.
//
// path is relative to root; a path leading out of root is an error. Errors
// name files by their path inside the artifact.
func Build(root, path string, opts Options) ([]*unstructured.Unstructured, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("artifact directory %s is missing", root)
	}
	dir, err := buildDir(path)
	if err != nil {
		return nil, err
	}
	fsys := newOverlay(root)
	fsys.maxRead, fsys.maxObjects = opts.MaxReadBytes, opts.MaxObjects
	if !fsys.IsDir(dir) {
		return nil, fmt.Errorf("spec.path %q: no such directory in the artifact", path)
	}

	file := findKustomization(fsys, dir)
	generated := file == ""
	var k map[string]any
	if generated {
		file = filepath.Join(dir, "kustomization.yaml")
		k, err = generateKustomization(fsys, dir)
	} else {
		k, err = readKustomization(fsys, file)
	}
	if err != nil {
		return nil, limitOr(fsys, err)
	}
	if err := mergeSpec(k, opts); err != nil {
		return nil, err
	}
	if isEmptyKustomization(k) {
		return []*unstructured.Unstructured{}, nil
	}
	// An untouched kustomization is left as the user wrote it, for
	// kustomize to read byte for byte.
	if generated || opts.changesKustomization() {
		merged, err := yaml.Marshal(k)
		if err != nil {
			return nil, err
		}
		if err := fsys.WriteFile(file, merged); err != nil {
			return nil, err
		}
	}
	if err := inspect(fsys, dir, k, file, opts); err != nil {
		return nil, limitOr(fsys, err)
	}
	_, customSchema := k["openapi"]
	m, err := runKustomize(fsys, dir, customSchema)
	if err != nil {
		return nil, limitOr(fsys, fmt.Errorf("kustomize build of %s failed: %w", dir, err))
	}
	if err := checkObjects(m.Size(), opts.MaxObjects); err != nil {
		return nil, err
	}
	return toUnstructured(m)
}

// buildDir turns spec.path into the virtual build directory. A leading "/"
// or "./" is allowed, as in Flux; a path that climbs out of the artifact is
// refused rather than silently clamped to its root.
func buildDir(path string) (string, error) {
	rel := filepath.Clean(strings.TrimLeft(filepath.FromSlash(path), string(filepath.Separator)))
	if rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("spec.path %q points outside the source artifact", path)
	}
	return clean(rel), nil
}

// schemaMu guards kustomize's process-wide OpenAPI schema. A build whose
// kustomization sets "openapi" installs its own schema for everyone, so it
// runs alone and puts the default back afterwards; all other builds only
// read the schema and run in parallel.
var schemaMu sync.RWMutex

// defaultSchema is the schema version kustomize uses when none is set.
var defaultSchema = openapi.GetSchemaVersion()

// runKustomize runs krusty with Flux's settings: files may be loaded from
// anywhere inside the artifact (the overlay confines them, not kustomize's
// root-only rule, which would break Flux repositories that share patches
// between overlays), and only builtin plugins, so no exec or container
// functions. kustomize panics on some malformed input; that becomes an
// error, not a crashed controller.
func runKustomize(fsys *overlay, dir string, customSchema bool) (m resmap.ResMap, err error) {
	if customSchema {
		if !lockSchema() {
			return nil, errors.New("timed out waiting for other builds to finish before installing the kustomization's openapi schema")
		}
		defer schemaMu.Unlock()
		defer resetSchema()
	} else {
		schemaMu.RLock()
		defer schemaMu.RUnlock()
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kustomize panicked: %v", r)
		}
	}()
	k := krusty.MakeKustomizer(&krusty.Options{
		Reorder:          krusty.ReorderOptionUnspecified,
		LoadRestrictions: kustypes.LoadRestrictionsNone,
		PluginConfig:     kustypes.DisabledPluginConfig(),
	})
	return k.Run(fsys, dir)
}

// lockSchema takes schemaMu for writing, polling rather than waiting so
// that a pending custom-schema build never holds up the other builds (a
// waiting writer would block new readers behind a slow one, such as a
// build fetching a remote resource, which kustomize does without a
// timeout). It gives up after schemaWait.
func lockSchema() bool {
	deadline := time.Now().Add(schemaWait)
	for !schemaMu.TryLock() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// schemaWait bounds how long a custom-schema build waits for the others.
const schemaWait = 2 * time.Minute

func resetSchema() {
	if openapi.GetSchemaVersion() != defaultSchema {
		openapi.ResetOpenAPI()
	}
}

// toUnstructured converts kustomize's resources through JSON, which gives
// the int64 and float64 numbers unstructured objects require.
func toUnstructured(m resmap.ResMap) ([]*unstructured.Unstructured, error) {
	out := make([]*unstructured.Unstructured, 0, m.Size())
	for _, res := range m.Resources() {
		data, err := res.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("cannot encode %s: %w", res.CurId(), err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			return nil, fmt.Errorf("cannot decode %s: %w", res.CurId(), err)
		}
		out = append(out, u)
	}
	return out, nil
}
