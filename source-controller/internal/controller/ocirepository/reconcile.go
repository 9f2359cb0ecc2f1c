package ocirepository

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/artifact/untar"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/source-controller/internal/controller/sourcestatus"
	"github.com/ferrycd/ferry/source-controller/internal/oci"
	"github.com/ferrycd/ferry/source-controller/internal/tlsconfig"
)

// scope is what the steps of one reconcile share.
type scope struct {
	obj    *sourcev1.OCIRepository
	client *oci.Client
	// ref is the manifest to pull, by digest.
	ref name.Digest
	// revision is <tag>@sha256:<hex>, or sha256:<hex> for a digest ref.
	revision string
	// dir is the working directory; empty when nothing was pulled.
	dir string
}

// reconcile runs the steps in order and stops at the first error.
func (r *Reconciler) reconcile(ctx context.Context, obj *sourcev1.OCIRepository) error {
	s := &scope{obj: obj}
	defer func() {
		if s.dir != "" {
			_ = os.RemoveAll(s.dir)
		}
	}()
	for _, step := range []func(context.Context, *scope) error{
		r.checkStorage,
		r.resolve,
		r.verify,
		r.pull,
		r.storeArtifact,
	} {
		if err := step(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// checkStorage drops a status.artifact whose file is gone or corrupt, so the
// next steps pull it again. Sets ArtifactInStorage.
func (r *Reconciler) checkStorage(_ context.Context, s *scope) error {
	if !sourcestatus.CheckStorage(r.Storage, s.obj, s.obj.Status.Artifact) {
		s.obj.Status.Artifact = nil
		s.obj.Status.URL = ""
	}
	return nil
}

// resolve reads the credentials and asks the registry which manifest the ref
// points to, without downloading it. Sets FetchFailed on failure.
func (r *Reconciler) resolve(ctx context.Context, s *scope) error {
	obj := s.obj
	opts := oci.Options{Insecure: obj.Spec.Insecure}
	if ref := obj.Spec.SecretRef; ref != nil {
		data, err := r.secretData(ctx, obj.Namespace, ref.Name, "spec.secretRef")
		if err != nil {
			return fetchFailed(obj, sourcev1.AuthenticationFailedReason, err)
		}
		if opts.Keychain, err = oci.KeychainFromSecret(data); err != nil {
			return fetchFailed(obj, sourcev1.AuthenticationFailedReason,
				fmt.Errorf("invalid credentials in secret '%s' named in spec.secretRef: %w", ref.Name, err))
		}
	}
	if ref := obj.Spec.CertSecretRef; ref != nil {
		data, err := r.secretData(ctx, obj.Namespace, ref.Name, "spec.certSecretRef")
		if err == nil {
			opts.TLS, err = tlsconfig.FromSecret(data)
		}
		if err != nil {
			return fetchFailed(obj, sourcev1.AuthenticationFailedReason, fmt.Errorf("invalid TLS settings in spec.certSecretRef: %w", err))
		}
	}
	s.client = oci.New(opts)
	repo, err := s.client.Repository(obj.Spec.URL)
	if err != nil {
		conditions.MarkTrue(obj, sourcev1.FetchFailedCondition, sourcev1.URLInvalidReason, "%s", err)
		return outcome.StallErr(sourcev1.URLInvalidReason, err)
	}
	tctx, cancel := context.WithTimeout(ctx, obj.GetTimeout())
	defer cancel()
	s.ref, s.revision, err = s.client.Resolve(tctx, repo, reference(obj))
	if err != nil {
		return registryFailed(obj, fmt.Errorf("failed to determine the artifact digest: %w", err))
	}
	return nil
}

// pull downloads the selected layer unless the stored artifact already holds
// this digest with the same shape: extracted into the working directory, or
// saved as is for copy. Sets FetchFailed on failure.
func (r *Reconciler) pull(ctx context.Context, s *scope) error {
	obj := s.obj
	if r.upToDate(s) {
		conditions.Delete(obj, sourcev1.FetchFailedCondition)
		return nil
	}
	dir, err := os.MkdirTemp("", "ocirepository-")
	if err != nil {
		return outcome.RetryErr(sourcev1.DirCreationFailedReason, err)
	}
	s.dir = dir
	tctx, cancel := context.WithTimeout(ctx, obj.GetTimeout())
	defer cancel()
	layer, err := s.client.Layer(tctx, s.ref, obj.GetLayerMediaType())
	if err != nil {
		return registryFailed(obj, fmt.Errorf("failed to pull '%s': %w", s.revision, err))
	}
	defer layer.Close()
	pulls.Inc()
	if obj.GetLayerOperation() == sourcev1.OCILayerCopy {
		err = copyLayer(layer, filepath.Join(dir, "layer"))
	} else {
		err = untar.Untar(layer, filepath.Join(dir, "src"), 0)
	}
	if err != nil {
		err = fmt.Errorf("failed to %s the layer of '%s': %w", obj.GetLayerOperation(), s.revision, err)
		conditions.MarkTrue(obj, sourcev1.FetchFailedCondition, sourcev1.OCILayerOperationFailedReason, "%s", err)
		return outcome.RetryErr(sourcev1.OCILayerOperationFailedReason, err)
	}
	conditions.Delete(obj, sourcev1.FetchFailedCondition)
	return nil
}

// upToDate reports whether the stored artifact holds the resolved digest
// built with the current layer selector and ignore rules.
func (r *Reconciler) upToDate(s *scope) bool {
	obj := s.obj
	a := obj.Status.Artifact
	return a != nil && a.Revision == s.revision &&
		equality.Semantic.DeepEqual(obj.Status.ObservedIgnore, obj.Spec.Ignore) &&
		equality.Semantic.DeepEqual(obj.Status.ObservedLayerSelector, obj.Spec.LayerSelector)
}

// copyLayer saves a layer unchanged, up to the untar size cap.
func copyLayer(layer io.Reader, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(layer, untar.DefaultMaxSize+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > untar.DefaultMaxSize {
		err = fmt.Errorf("layer exceeds the limit of %d bytes", untar.DefaultMaxSize)
	}
	return err
}

func (r *Reconciler) secretData(ctx context.Context, ns, name, field string) (map[string][]byte, error) {
	secret := &corev1.Secret{}
	if err := r.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, secret); err != nil {
		return nil, fmt.Errorf("failed to get secret '%s/%s' named in %s: %w", ns, name, field, err)
	}
	return secret.Data, nil
}

func reference(obj *sourcev1.OCIRepository) oci.Ref {
	ref := obj.Spec.Reference
	if ref == nil {
		return oci.Ref{}
	}
	return oci.Ref{Tag: ref.Tag, SemVer: ref.SemVer, SemverFilter: ref.SemverFilter, Digest: ref.Digest}
}

// registryFailed marks FetchFailed with the reason the registry error calls
// for and returns a retryable error.
func registryFailed(obj *sourcev1.OCIRepository, err error) error {
	if oci.IsUnauthorized(err) {
		return fetchFailed(obj, sourcev1.AuthenticationFailedReason, fmt.Errorf("%w: check the credentials in spec.secretRef", err))
	}
	return fetchFailed(obj, sourcev1.OCIPullFailedReason, err)
}

// fetchFailed marks FetchFailed and returns a retryable error with reason.
func fetchFailed(obj *sourcev1.OCIRepository, reason string, err error) error {
	conditions.MarkTrue(obj, sourcev1.FetchFailedCondition, reason, "%s", err)
	return outcome.RetryErr(reason, err)
}
