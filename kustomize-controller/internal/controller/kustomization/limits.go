package kustomization

import (
	"errors"
	"fmt"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/kustomize"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// BuildLimits bound what one Kustomization's build may take, so that one
// oversized revision cannot take the controller's memory (and every other
// Kustomization's reconcile) with it. A refused build applies nothing and
// prunes nothing: the cluster keeps what the last good revision applied.
type BuildLimits struct {
	// MaxReadBytes caps the bytes of manifests a build reads from the
	// artifact (--max-build-size); 0 means no limit.
	MaxReadBytes int64
	// MaxObjects caps the objects a build may produce
	// (--max-build-objects); 0 means no limit.
	MaxObjects int
}

// limitFlags name the flag that sets each limit, for the message of a refusal.
var limitFlags = map[kustomize.Limit]string{
	kustomize.LimitReadBytes: "--max-build-size",
	kustomize.LimitObjects:   "--max-build-objects",
}

// limitRefused turns a build refused by a limit into a stall: the same
// revision would be refused again, so only a new revision (which the
// source watch brings) or a raised limit (a restart) can change it. It is
// nil for any other error.
func limitRefused(err error) error {
	var le *kustomize.LimitError
	if !errors.As(err, &le) {
		return nil
	}
	return outcome.StallErr(kustomizev1.BuildFailedReason,
		fmt.Errorf("build refused: %w (%s); nothing was applied or pruned", le, limitFlags[le.Limit]))
}
