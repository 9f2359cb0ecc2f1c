// Package sourceverify is the signature step the OCIRepository and
// HelmChart reconcilers share: it reads the trusted keys named in
// spec.verify, checks the artifact's cosign signature before it is pulled,
// and keeps the SourceVerified condition as Flux does (True with the
// verified revision, False with reason VerificationError, absent without
// spec.verify). A refused artifact is never pulled, so the previous
// artifact stays in storage and in status.
package sourceverify

import (
	"context"
	"fmt"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/source-controller/internal/cosign"
	"github.com/ferrycd/ferry/source-controller/internal/oci"
)

// Object is a source whose conditions the step sets.
type Object interface {
	client.Object
	conditions.Setter
}

// Needed reports whether the artifact must be verified now. Without
// spec.verify it removes SourceVerified and says no. With it, verification
// is skipped only when the stored artifact is current and SourceVerified
// already says, at this generation, that exactly this revision verified
// (message is what Verify wrote then), so a new digest, a spec change or an
// earlier failure always verifies again.
func Needed(obj Object, spec *sourcev1.OCIRepositoryVerification, upToDate bool, message string) bool {
	if spec == nil {
		conditions.Delete(obj, sourcev1.SourceVerifiedCondition)
		return false
	}
	c := conditions.Get(obj, sourcev1.SourceVerifiedCondition)
	verified := c != nil && c.Status == "True" && c.ObservedGeneration == obj.GetGeneration() && c.Message == message
	return !upToDate || !verified
}

// Verify checks the cosign signature of the manifest d with the keys in
// spec.secretRef, through the registry client of the reconcile. It marks
// SourceVerified True with message, or False; a failure is retried with
// backoff, in case the keys or the signatures change.
func Verify(ctx context.Context, c client.Reader, reg *oci.Client, obj Object, spec *sourcev1.OCIRepositoryVerification, d name.Digest, message string) error {
	err := verify(ctx, c, reg, obj.GetNamespace(), spec, d)
	if err != nil {
		return Failed(obj, err)
	}
	conditions.MarkTrue(obj, sourcev1.SourceVerifiedCondition, fluxmeta.SucceededReason, "%s", message)
	return nil
}

func verify(ctx context.Context, c client.Reader, reg *oci.Client, ns string, spec *sourcev1.OCIRepositoryVerification, d name.Digest) error {
	secret := &corev1.Secret{}
	key := types.NamespacedName{Namespace: ns, Name: spec.SecretRef.Name}
	if err := c.Get(ctx, key, secret); err != nil {
		return fmt.Errorf("failed to get secret '%s' named in spec.verify.secretRef: %w", key, err)
	}
	keys, err := cosign.KeysFromSecret(secret.Data)
	if err != nil {
		return fmt.Errorf("invalid public keys in secret '%s' named in spec.verify.secretRef: %w", key, err)
	}
	return cosign.Verify(ctx, reg, oci.IsNotFound, keys, d)
}

// Failed marks SourceVerified False with err and returns the error that
// stops the reconcile with Ready=False, reason VerificationError, retried
// with backoff.
func Failed(obj Object, err error) error {
	return outcome.RetryErr(sourcev1.VerificationErrorReason, mark(obj, err))
}

// Unsupported is Failed for a spec that cannot be verified at all: the
// object stalls until its spec changes.
func Unsupported(obj Object, err error) error {
	return outcome.StallErr(sourcev1.VerificationErrorReason, mark(obj, err))
}

func mark(obj Object, err error) error {
	err = fmt.Errorf("failed to verify the signature using provider '%s': %w", provider, err)
	conditions.MarkFalse(obj, sourcev1.SourceVerifiedCondition, sourcev1.VerificationErrorReason, "%s", err)
	return err
}

// provider is the only spec.verify.provider the schema accepts.
const provider = "cosign"
