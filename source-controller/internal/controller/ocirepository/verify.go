package ocirepository

import (
	"context"
	"fmt"

	"github.com/ferrycd/ferry/source-controller/internal/controller/sourceverify"
)

// verify checks the cosign signature of the resolved manifest before any
// layer is pulled, when spec.verify asks for it, so an unsigned or wrongly
// signed artifact never reaches storage and the previous one stays. An
// artifact verified before at this generation is not checked again. Sets
// SourceVerified.
func (r *Reconciler) verify(ctx context.Context, s *scope) error {
	obj := s.obj
	msg := fmt.Sprintf("verified signature of revision %s", s.revision)
	if !sourceverify.Needed(obj, obj.Spec.Verify, r.upToDate(s), msg) {
		return nil
	}
	tctx, cancel := context.WithTimeout(ctx, obj.GetTimeout())
	defer cancel()
	return sourceverify.Verify(tctx, r.Client, s.client, obj, obj.Spec.Verify, s.ref, msg)
}
