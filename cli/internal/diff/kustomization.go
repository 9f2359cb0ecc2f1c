package diff

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/kustomize"
	"github.com/ferrycd/ferry/pkg/substitute"
)

// KustomizeFieldManager and KustomizeOwnerGroup are kustomize-controller's
// apply identity, Flux's names.
const (
	KustomizeFieldManager = "kustomize-controller"
	KustomizeOwnerGroup   = "kustomize.toolkit.fluxcd.io"
)

// KustomizationRequest says what to build.
type KustomizationRequest struct {
	// Kustomization carries the spec to build with; for one that does not
	// exist yet, a spec read from a file or a bare name.
	Kustomization *kustomizev1.Kustomization
	// Exists is true when the Kustomization is in the cluster, so its
	// inventory says what would be pruned.
	Exists bool
	// LocalPath, when set, is a local directory built in place of
	// spec.path of the source artifact (the change under review).
	LocalPath string
	// NoRemoteBases refuses remote bases, as the controller's flag does.
	NoRemoteBases bool
}

// Build is a Kustomization's build output.
type Build struct {
	// Objects are what the controller would apply, in its order, with
	// post-build substitution done and SOPS-encrypted objects left out.
	Objects []*unstructured.Unstructured
	// Revision is the source revision built, or the local path.
	Revision string
	// Notes say what was skipped (SOPS-encrypted files).
	Notes []string
	// Skipped are the objects left out, e.g. SOPS-encrypted ones.
	Skipped []ObjectDiff
}

// BuildKustomization builds as kustomize-controller does: kustomize with
// the spec's build fields (pkg/kustomize), then postBuild substitution
// with its substituteFrom values read from the cluster (pkg/substitute).
// It never decrypts: SOPS-encrypted objects are skipped and encrypted
// secretGenerator inputs reach the build as they are (masked later with
// every Secret value).
func (e *Engine) BuildKustomization(ctx context.Context, req KustomizationRequest, artifacts *Artifacts) (*Build, error) {
	ks := req.Kustomization
	root, path, revision := req.LocalPath, ".", req.LocalPath
	if root == "" {
		var err error
		root, revision, err = e.sourceArtifact(ctx, ks, artifacts)
		if err != nil {
			return nil, err
		}
		path = ks.Spec.Path
	}
	sops := &sopsInputs{}
	objs, err := kustomize.Build(root, path, kustomize.Options{
		TargetNamespace: ks.Spec.TargetNamespace,
		NamePrefix:      ks.Spec.NamePrefix,
		NameSuffix:      ks.Spec.NameSuffix,
		Patches:         ks.Spec.Patches,
		Images:          ks.Spec.Images,
		Components:      ks.Spec.Components,
		CommonMetadata:  ks.Spec.CommonMetadata,
		NoRemoteBases:   req.NoRemoteBases,
		Decryptor:       sops,
	})
	if err != nil {
		return nil, fmt.Errorf("building %s/%s: %w", ks.Namespace, ks.Name, err)
	}
	b := &Build{Revision: revision}
	for _, f := range sops.files {
		b.Notes = append(b.Notes, fmt.Sprintf("%s is SOPS-encrypted and was not decrypted: the Secret it generates shows masked", f))
	}
	for _, o := range objs {
		if _, encrypted := o.Object["sops"]; encrypted {
			d := newObjectDiff(o)
			d.Action, d.Note = Skipped, "SOPS-encrypted: the CLI never decrypts"
			b.Skipped = append(b.Skipped, d)
			continue
		}
		b.Objects = append(b.Objects, o)
	}
	if pb := ks.Spec.PostBuild; pb != nil {
		vars, err := substitute.Vars(ctx, e.Client, ks.Namespace, pb)
		if err != nil {
			return nil, fmt.Errorf("reading postBuild variables of %s/%s: %w", ks.Namespace, ks.Name, err)
		}
		if err := substitute.Substitute(b.Objects, vars, false); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// Kustomization diffs what applying the build now would change.
func (e *Engine) Kustomization(ctx context.Context, req KustomizationRequest, artifacts *Artifacts) (*Result, error) {
	b, err := e.BuildKustomization(ctx, req, artifacts)
	if err != nil {
		return nil, err
	}
	ks := req.Kustomization
	owner := Owner{Field: KustomizeFieldManager, Group: KustomizeOwnerGroup, Name: ks.Name, Namespace: ks.Namespace}
	objs, err := e.DryRun(ctx, b.Objects, owner, ApplyOptions{
		Force:         ks.Spec.Force || ks.ForceRequested(),
		ForceSelector: map[string]string{kustomizev1.ForceAnnotation: kustomizev1.EnabledValue},
		// Objects the user took out of the controller's hands are skipped,
		// yet kept in the inventory, so never shown as pruned.
		ExclusionSelector: map[string]string{
			kustomizev1.ReconcileAnnotation: kustomizev1.DisabledValue,
			kustomizev1.SSAAnnotation:       kustomizev1.IgnoreValue,
		},
		IfNotPresentSelector: map[string]string{kustomizev1.SSAAnnotation: kustomizev1.IfNotPresentValue},
	})
	if err != nil {
		return nil, err
	}
	// Without a local path, a change while Git has not moved since the
	// last apply can only come from the cluster: drift.
	drift := req.Exists && req.LocalPath == "" && b.Revision != "" && b.Revision == ks.Status.LastAppliedRevision
	for i := range objs {
		if objs[i].Action == Configured || objs[i].Action == Replaced {
			objs[i].Drift = drift
		}
	}
	res := &Result{Revision: b.Revision, Objects: append(objs, b.Skipped...), Notes: b.Notes}
	if req.Exists && ks.Spec.Prune && ks.Status.Inventory != nil {
		var inv []InventoryEntry
		for _, e := range ks.Status.Inventory.Entries {
			inv = append(inv, InventoryEntry{ID: e.ID, Version: e.Version})
		}
		pruned, err := e.Pruned(ctx, inv, b.Objects, owner, map[string]string{kustomizev1.PruneAnnotation: kustomizev1.DisabledValue})
		if err != nil {
			return nil, err
		}
		res.Objects = append(res.Objects, pruned...)
	}
	return res, nil
}

// sourceArtifact fetches the artifact of the Kustomization's source.
func (e *Engine) sourceArtifact(ctx context.Context, ks *kustomizev1.Kustomization, artifacts *Artifacts) (dir, revision string, err error) {
	ref := ks.Spec.SourceRef
	ns := ref.Namespace
	if ns == "" {
		ns = ks.Namespace
	}
	src := &unstructured.Unstructured{}
	src.SetGroupVersionKind(sourcev1.GroupVersion.WithKind(ref.Kind))
	if err := e.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, src); err != nil {
		return "", "", fmt.Errorf("reading the source %s %s/%s: %w", ref.Kind, ns, ref.Name, err)
	}
	a, ok := artifactOf(src)
	if !ok || a["url"] == "" {
		return "", "", fmt.Errorf("the source %s %s/%s has no artifact yet: see `ferry get sources` or diff a local directory with --path",
			ref.Kind, ns, ref.Name)
	}
	if artifacts == nil {
		return "", "", fmt.Errorf("no artifact fetcher configured")
	}
	dir, err = artifacts.Fetch(ctx, a["url"], a["digest"])
	if err != nil {
		return "", "", fmt.Errorf("fetching the artifact of %s %s/%s: %w", ref.Kind, ns, ref.Name, err)
	}
	return dir, a["revision"], nil
}

// sopsInputs is the build's Decryptor: it never decrypts, it records the
// secretGenerator inputs that are SOPS-encrypted so the diff can say so.
type sopsInputs struct {
	files []string
}

// DecryptGeneratorFile returns data unchanged and notes encrypted inputs.
func (s *sopsInputs) DecryptGeneratorFile(f kustomize.GeneratorFile, data []byte) ([]byte, error) {
	if looksEncrypted(data) {
		s.files = append(s.files, strings.TrimPrefix(f.Path, "/"))
	}
	return data, nil
}

// looksEncrypted spots the metadata sops writes into YAML, JSON and dotenv
// files.
func looksEncrypted(data []byte) bool {
	return bytes.Contains(data, []byte("sops:")) || bytes.Contains(data, []byte(`"sops"`)) ||
		bytes.Contains(data, []byte("sops_version=")) || bytes.Contains(data, []byte("ENC[AES256_GCM"))
}
