package kustomization

import (
	"context"
	"errors"
	"fmt"
	"strings"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/patch"
	"github.com/fluxcd/pkg/ssa"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ferrycd/ferry/kustomize-controller/internal/decrypt"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/artifact/fetch"
	"github.com/ferrycd/ferry/pkg/dependency"
	"github.com/ferrycd/ferry/pkg/kubeclient"
	"github.com/ferrycd/ferry/pkg/kustomize"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/pkg/substitute"
)

// scope is what the steps of one reconcile share.
type scope struct {
	obj     *kustomizev1.Kustomization
	patcher *patch.SerialPatcher
	// artifact is the source's current artifact.
	artifact *fluxmeta.Artifact
	// dir holds the extracted artifact; shared by all Kustomizations of the
	// same revision, so read-only.
	dir string
	// objects are the built, substituted and decrypted objects.
	objects []*unstructured.Unstructured
	target  *kubeclient.Target
	manager *ssa.ResourceManager
	// applied is the change set of the apply step.
	applied *ssa.ChangeSet
	// previous is the inventory before this reconcile's apply.
	previous *kustomizev1.ResourceInventory
}

// reconcile runs the steps in order and stops at the first error.
func (r *Reconciler) reconcile(ctx context.Context, obj *kustomizev1.Kustomization, patcher *patch.SerialPatcher) error {
	s := &scope{obj: obj, patcher: patcher}
	for _, step := range r.steps(obj) {
		if err := step(ctx, s); err != nil {
			return err
		}
	}
	obj.Status.LastAppliedRevision = s.artifact.Revision
	conditions.MarkTrue(obj, fluxmeta.ReadyCondition, kustomizev1.ReconciliationSucceededReason,
		"Applied revision: %s", s.artifact.Revision)
	return nil
}

// checkDependencies waits until every dependsOn entry, a Kustomization or
// a HelmRelease, is ready by the rule both kinds share (pkg/dependency,
// Flux's): Ready=True for its current generation and, for a Kustomization
// built from the same source, applied at the source's current revision.
// Sets Ready=False with DependencyNotReady while waiting; stalls with
// DependencyCycle when dependsOn leads back here, and with AccessDenied on a
// dependency in another namespace under --no-cross-namespace-refs.
func (r *Reconciler) checkDependencies(ctx context.Context, s *scope) error {
	obj := s.obj
	if err := dependency.CheckCycle(ctx, r.Client, kustomizev1.KustomizationKind, obj); err != nil {
		return err
	}
	err := dependency.CheckAcross(ctx, r.Client, kustomizev1.KustomizationKind, obj, func(d dependency.Dependent) string {
		if k, ok := d.(*kustomizev1.Kustomization); ok && sameSource(obj, k) {
			if src, err := r.sourceArtifact(ctx, obj); err == nil && src != nil {
				return src.Revision
			}
		}
		return ""
	}, dependency.Options{NoCrossNamespaceRefs: r.NoCrossNamespaceRefs})
	return dependency.Outcome(err, obj.GetRetryInterval())
}

func sameSource(a, b *kustomizev1.Kustomization) bool {
	return a.Spec.SourceRef.Kind == b.Spec.SourceRef.Kind && a.Spec.SourceRef.Name == b.Spec.SourceRef.Name &&
		sourceNamespace(a) == sourceNamespace(b)
}

func sourceNamespace(obj *kustomizev1.Kustomization) string {
	if ns := obj.Spec.SourceRef.Namespace; ns != "" {
		return ns
	}
	return obj.Namespace
}

// getSource finds the source's artifact and records the revision about to
// be attempted. Waits while the source has no artifact.
func (r *Reconciler) getSource(ctx context.Context, s *scope) error {
	obj := s.obj
	if r.NoCrossNamespaceRefs && sourceNamespace(obj) != obj.Namespace {
		return outcome.StallErr(kustomizev1.AccessDeniedReason,
			fmt.Errorf("source '%s' is in another namespace, which --no-cross-namespace-refs forbids", obj.Spec.SourceRef))
	}
	a, err := r.sourceArtifact(ctx, obj)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return outcome.WaitErr(kustomizev1.ArtifactFailedReason, obj.GetRetryInterval(),
				fmt.Errorf("source '%s' not found", obj.Spec.SourceRef))
		}
		return outcome.RetryErr(kustomizev1.ArtifactFailedReason, err)
	}
	if a == nil {
		return outcome.WaitErr(kustomizev1.ArtifactFailedReason, obj.GetRetryInterval(),
			fmt.Errorf("source '%s' is not ready: it has no artifact yet", obj.Spec.SourceRef))
	}
	s.artifact = a
	obj.Status.LastAttemptedRevision = a.Revision
	return nil
}

// sourceArtifact returns the artifact of the Kustomization's source, nil
// when it has none yet.
func (r *Reconciler) sourceArtifact(ctx context.Context, obj *kustomizev1.Kustomization) (*fluxmeta.Artifact, error) {
	newSource, ok := sourceKinds[obj.Spec.SourceRef.Kind]
	if !ok {
		return nil, fmt.Errorf("source kind '%s' is not supported", obj.Spec.SourceRef.Kind)
	}
	src := newSource()
	key := types.NamespacedName{Namespace: sourceNamespace(obj), Name: obj.Spec.SourceRef.Name}
	if err := r.Get(ctx, key, src); err != nil {
		return nil, err
	}
	return src.GetArtifact(), nil
}

// sourceKinds are the kinds a sourceRef may name. They all carry
// status.artifact in the same shape, so the rest of the reconcile does not
// care which one produced it; an ExternalArtifact is produced by another
// controller (an ArtifactGenerator, say) rather than fetched from upstream.
var sourceKinds = map[string]func() sourcev1.Source{
	sourcev1.GitRepositoryKind:    func() sourcev1.Source { return &sourcev1.GitRepository{} },
	sourcev1.OCIRepositoryKind:    func() sourcev1.Source { return &sourcev1.OCIRepository{} },
	sourcev1.ExternalArtifactKind: func() sourcev1.Source { return &sourcev1.ExternalArtifact{} },
}

// fetchArtifact downloads, verifies and extracts the artifact, or reuses the
// extracted tree cached under its digest.
func (r *Reconciler) fetchArtifact(ctx context.Context, s *scope) error {
	dir, err := r.Fetcher.Fetch(ctx, s.artifact.URL, s.artifact.Digest)
	if err != nil {
		if fetch.IsNotFound(err) {
			return outcome.WaitErr(kustomizev1.ArtifactFailedReason, s.obj.GetRetryInterval(),
				fmt.Errorf("artifact of revision '%s' is not served (yet): %w", s.artifact.Revision, err))
		}
		return outcome.RetryErr(kustomizev1.ArtifactFailedReason,
			fmt.Errorf("failed to fetch artifact of revision '%s': %w", s.artifact.Revision, err))
	}
	s.dir = dir
	return nil
}

// build runs kustomize on spec.path, then post-build substitution and SOPS
// decryption. Any failure leaves the cluster untouched. A build whose every
// input is what the last successful one saw is reused (buildCache).
func (r *Reconciler) build(ctx context.Context, s *scope) error {
	obj := s.obj
	keys, err := r.decryptionKeys(ctx, obj)
	if err != nil {
		return buildFailed(obj, err)
	}
	var vars map[string]string
	if pb := obj.Spec.PostBuild; pb != nil {
		if vars, err = substitute.Vars(ctx, r.Client, obj.Namespace, pb); err != nil {
			return buildFailed(obj, err)
		}
	}
	key := buildKey(obj, s.artifact.Digest, vars, keys)
	if objects, ok := r.builds.get(obj, key); ok {
		s.objects = objects
		return nil
	}
	var dec *decrypt.Decryptor
	if obj.Spec.Decryption != nil {
		if dec, err = decrypt.NewDecryptor(keys); err != nil {
			return buildFailed(obj, err)
		}
	}
	var remote bool
	opts := kustomize.Options{
		TargetNamespace: obj.Spec.TargetNamespace,
		NamePrefix:      obj.Spec.NamePrefix,
		NameSuffix:      obj.Spec.NameSuffix,
		Patches:         obj.Spec.Patches,
		Images:          obj.Spec.Images,
		Components:      obj.Spec.Components,
		CommonMetadata:  obj.Spec.CommonMetadata,
		NoRemoteBases:   r.NoRemoteBases,
		MaxReadBytes:    r.Limits.MaxReadBytes,
		MaxObjects:      r.Limits.MaxObjects,
		Remote:          &remote,
	}
	if dec != nil {
		opts.Decryptor = dec
	}
	objects, err := kustomize.Build(s.dir, obj.Spec.Path, opts)
	if err != nil {
		if refused := limitRefused(err); refused != nil {
			return refused
		}
		return buildFailed(obj, err)
	}
	// Decrypt before substituting, as Flux does, so variables inside
	// encrypted values are substituted too.
	if err := decrypt.Objects(dec, objects); err != nil {
		return buildFailed(obj, err)
	}
	if obj.Spec.PostBuild != nil {
		if err := substitute.Substitute(objects, vars, false); err != nil {
			return buildFailed(obj, err)
		}
	}
	if remote {
		r.builds.forget(obj)
	} else {
		r.builds.put(obj, key, objects)
	}
	s.objects = objects
	return nil
}

func buildFailed(obj *kustomizev1.Kustomization, err error) error {
	return outcome.RetryErr(kustomizev1.BuildFailedReason, err)
}

// decryptionKeys reads the SOPS keys of the Secret spec.decryption.secretRef
// names; nil without one.
func (r *Reconciler) decryptionKeys(ctx context.Context, obj *kustomizev1.Kustomization) (map[string][]byte, error) {
	d := obj.Spec.Decryption
	if d == nil || d.SecretRef == nil {
		return nil, nil
	}
	secret := &corev1.Secret{}
	key := types.NamespacedName{Namespace: obj.Namespace, Name: d.SecretRef.Name}
	if err := r.Get(ctx, key, secret); err != nil {
		return nil, fmt.Errorf("failed to get the decryption Secret '%s' named in spec.decryption.secretRef: %w", key, err)
	}
	return secret.Data, nil
}

// errorList joins errors one per line for a condition message.
func errorList(errs []error) error {
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	return errors.New(strings.Join(msgs, "\n"))
}
