package gitrepository

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/source-controller/internal/controller/sourcestatus"
	"github.com/ferrycd/ferry/source-controller/internal/git"
)

// scope is what the steps of one reconcile share.
type scope struct {
	obj *sourcev1.GitRepository
	// auth is the transport authentication from spec.secretRef.
	auth *git.Auth
	// remote is the commit the ref points to on the remote.
	remote *git.Commit
	// dir is the working directory holding the checkout; empty when the
	// artifact is up to date and nothing was cloned.
	dir string
	// commit is the cloned commit.
	commit *git.Commit
	// included holds the artifacts of included repositories, in spec order.
	included []*fluxmeta.Artifact
	// keyRings are the trusted keys of spec.verify.secretRef and keysDigest
	// identifies them; both are empty when the spec asks for no verification.
	keyRings   []string
	keysDigest string
}

// reconcile runs the steps in order and stops at the first error.
func (r *Reconciler) reconcile(ctx context.Context, obj *sourcev1.GitRepository) error {
	s := &scope{obj: obj}
	defer func() {
		if s.dir != "" {
			_ = os.RemoveAll(s.dir)
		}
	}()
	for _, step := range []func(context.Context, *scope) error{
		r.checkStorage,
		r.resolve,
		r.resolveIncludes,
		r.readVerificationKeys,
		r.checkout,
		r.verify,
		r.copyIncludes,
		r.storeArtifact,
	} {
		if err := step(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// checkStorage drops a status.artifact whose file is gone or corrupt from
// storage, so the next steps rebuild it. Sets ArtifactInStorage.
func (r *Reconciler) checkStorage(_ context.Context, s *scope) error {
	if !sourcestatus.CheckStorage(r.Storage, s.obj, s.obj.Status.Artifact) {
		s.obj.Status.Artifact = nil
	}
	return nil
}

// resolve reads the credentials and asks the remote which commit the ref
// points to. Sets FetchFailed on failure.
func (r *Reconciler) resolve(ctx context.Context, s *scope) error {
	obj := s.obj
	var data map[string][]byte
	if ref := obj.Spec.SecretRef; ref != nil {
		secret := &corev1.Secret{}
		if err := r.Get(ctx, types.NamespacedName{Namespace: obj.Namespace, Name: ref.Name}, secret); err != nil {
			return r.fetchFailed(obj, sourcev1.AuthenticationFailedReason,
				fmt.Errorf("failed to get secret '%s/%s' named in spec.secretRef: %w", obj.Namespace, ref.Name, err))
		}
		data = secret.Data
	}
	auth, err := git.AuthFromSecret(obj.Spec.URL, data)
	if err != nil {
		return r.fetchFailed(obj, sourcev1.AuthenticationFailedReason, fmt.Errorf("invalid credentials in spec.secretRef: %w", err))
	}
	s.auth = auth

	tctx, cancel := context.WithTimeout(ctx, obj.GetTimeout())
	defer cancel()
	remote, err := git.ResolveRemote(tctx, obj.Spec.URL, auth, reference(obj))
	if err != nil {
		return r.fetchFailed(obj, gitReason(err), err)
	}
	s.remote = remote
	return nil
}

// resolveIncludes collects the artifacts of included repositories. Sets
// IncludeUnavailable while one of them has no artifact yet.
func (r *Reconciler) resolveIncludes(ctx context.Context, s *scope) error {
	for _, inc := range s.obj.Spec.Include {
		dep := &sourcev1.GitRepository{}
		key := types.NamespacedName{Namespace: s.obj.Namespace, Name: inc.GitRepositoryRef.Name}
		err := r.Get(ctx, key, dep)
		if err == nil && dep.Status.Artifact == nil {
			err = errors.New("it has no artifact yet")
		}
		if err != nil {
			if apierrors.IsNotFound(err) {
				err = errors.New("it does not exist")
			}
			err = fmt.Errorf("included GitRepository '%s' is unavailable: %w", key, err)
			conditions.MarkTrue(s.obj, sourcev1.IncludeUnavailableCondition, "IncludeUnavailable", "%s", err)
			return outcome.WaitErr("IncludeUnavailable", dependencyRequeue, err)
		}
		s.included = append(s.included, dep.Status.Artifact.DeepCopy())
	}
	conditions.Delete(s.obj, sourcev1.IncludeUnavailableCondition)
	return nil
}

// checkout clones the resolved commit unless the stored artifact already
// holds it with the same shape. Sets FetchFailed on failure.
func (r *Reconciler) checkout(ctx context.Context, s *scope) error {
	obj := s.obj
	if r.upToDate(s) {
		return nil
	}
	dir, err := os.MkdirTemp("", "gitrepository-")
	if err != nil {
		return outcome.RetryErr(sourcev1.DirCreationFailedReason, err)
	}
	s.dir = dir
	tctx, cancel := context.WithTimeout(ctx, obj.GetTimeout())
	defer cancel()
	commit, err := git.Clone(tctx, filepath.Join(dir, "src"), git.CloneOptions{
		URL:               obj.Spec.URL,
		Auth:              s.auth,
		Ref:               reference(obj),
		RecurseSubmodules: obj.Spec.RecurseSubmodules,
		SparseCheckout:    obj.Spec.SparseCheckout,
	})
	clones.Inc()
	if err != nil {
		return r.fetchFailed(obj, gitReason(err), err)
	}
	s.commit = commit
	conditions.Delete(obj, sourcev1.FetchFailedCondition)
	return nil
}

// upToDate reports whether the stored artifact holds the remote commit built
// from the same spec, so neither a clone nor a new archive is needed.
func (r *Reconciler) upToDate(s *scope) bool {
	obj := s.obj
	a := obj.Status.Artifact
	if a == nil || a.Revision != s.remote.Revision() {
		return false
	}
	st := obj.Status
	if !equalPtr(st.ObservedIgnore, obj.Spec.Ignore) || st.ObservedRecurseSubmodules != obj.Spec.RecurseSubmodules ||
		!slices.Equal(st.ObservedSparseCheckout, obj.Spec.SparseCheckout) ||
		!slices.Equal(st.ObservedInclude, obj.Spec.Include) || !sameArtifacts(st.IncludedArtifacts, s.included) {
		return false
	}
	return verifiedAsSpecified(obj, s.keysDigest)
}

// verifiedAsSpecified reports whether the stored artifact needs no new
// signature check: verification is off, or the last one succeeded with the
// mode and keys the spec names now. Without the mode and keys comparison a
// stricter mode or a revoked key would only be enforced at the next commit.
func verifiedAsSpecified(obj *sourcev1.GitRepository, keysDigest string) bool {
	v := obj.Spec.Verification
	if v == nil {
		return true
	}
	mode := obj.Status.SourceVerificationMode
	return conditions.IsTrue(obj, sourcev1.SourceVerifiedCondition) &&
		mode != nil && *mode == v.GetMode() && obj.Status.ObservedVerificationKeysDigest == keysDigest
}

// readVerificationKeys reads the trusted keys of spec.verify.secretRef, on
// every reconcile, so checkout can tell whether they changed since the last
// verification. Sets SourceVerified to False when the Secret cannot be read.
func (r *Reconciler) readVerificationKeys(ctx context.Context, s *scope) error {
	v := s.obj.Spec.Verification
	if v == nil {
		return nil
	}
	secret := &corev1.Secret{}
	key := types.NamespacedName{Namespace: s.obj.Namespace, Name: v.SecretRef.Name}
	if err := r.Get(ctx, key, secret); err != nil {
		err = fmt.Errorf("failed to get secret '%s' named in spec.verify.secretRef: %w", key, err)
		conditions.MarkFalse(s.obj, sourcev1.SourceVerifiedCondition, sourcev1.VerificationErrorReason, "%s", err)
		return outcome.RetryErr(sourcev1.VerificationErrorReason, err)
	}
	s.keyRings, s.keysDigest = git.TrustedKeys(secret.Data)
	return nil
}

// verify checks the commit's or tag's signature against the keys read from
// spec.verify.secretRef, and records the mode and keys it verified with.
// Sets SourceVerified.
func (r *Reconciler) verify(_ context.Context, s *scope) error {
	obj := s.obj
	v := obj.Spec.Verification
	if v == nil {
		conditions.Delete(obj, sourcev1.SourceVerifiedCondition)
		obj.Status.SourceVerificationMode = nil
		obj.Status.ObservedVerificationKeysDigest = ""
		return nil
	}
	if s.commit == nil {
		return nil // unchanged, and verified before with this mode and these keys
	}
	keyRings := s.keyRings
	var verified []string
	if v.VerifyTag() {
		if s.commit.Tag == nil {
			return r.verificationFailed(obj, errors.New("spec.verify.mode asks for a tag signature but spec.ref does not name a tag"))
		}
		signer, err := git.VerifyTag(s.commit.Tag, keyRings...)
		if err != nil {
			return r.verificationFailed(obj, err)
		}
		verified = append(verified, fmt.Sprintf("tag '%s' signed by '%s'", s.commit.Tag.Name, signer))
	}
	if v.VerifyHEAD() {
		signer, err := git.VerifyCommit(s.commit, keyRings...)
		if err != nil {
			return r.verificationFailed(obj, err)
		}
		verified = append(verified, fmt.Sprintf("commit '%s' signed by '%s'", s.commit.Hash, signer))
	}
	mode := v.GetMode()
	obj.Status.SourceVerificationMode = &mode
	obj.Status.ObservedVerificationKeysDigest = s.keysDigest
	conditions.MarkTrue(obj, sourcev1.SourceVerifiedCondition, fluxmeta.SucceededReason,
		"verified signature of %s", strings.Join(verified, " and "))
	return nil
}

func (r *Reconciler) verificationFailed(obj *sourcev1.GitRepository, err error) error {
	err = fmt.Errorf("signature verification failed: %w: check the keys in spec.verify.secretRef", err)
	conditions.MarkFalse(obj, sourcev1.SourceVerifiedCondition, sourcev1.VerificationErrorReason, "%s", err)
	return outcome.RetryErr(sourcev1.VerificationErrorReason, err)
}

// fetchFailed marks FetchFailed and returns a retryable error with reason.
func (r *Reconciler) fetchFailed(obj *sourcev1.GitRepository, reason string, err error) error {
	conditions.MarkTrue(obj, sourcev1.FetchFailedCondition, reason, "%s", err)
	return outcome.RetryErr(reason, err)
}

func reference(obj *sourcev1.GitRepository) git.Reference {
	ref := obj.Spec.Reference
	if ref == nil {
		return git.Reference{}
	}
	return git.Reference{Branch: ref.Branch, Tag: ref.Tag, SemVer: ref.SemVer, Name: ref.Name, Commit: ref.Commit}
}

// gitReason maps a git error to the condition reason a user sees.
func gitReason(err error) string {
	if git.KindOf(err) == git.KindAuthFailed {
		return sourcev1.AuthenticationFailedReason
	}
	return sourcev1.GitOperationFailedReason
}

func equalPtr(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func sameArtifacts(a, b []*fluxmeta.Artifact) bool {
	return slices.EqualFunc(a, b, func(x, y *fluxmeta.Artifact) bool {
		return x.Revision == y.Revision && x.Digest == y.Digest
	})
}
