package artifactgenerator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	sourceextv1 "github.com/ferrycd/ferry/pkg/apis/sourceext/v1beta1"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/source-controller/internal/artifactcopy"
)

// sourceRequeue is how long to wait for a source that does not exist or has
// no artifact yet; the watch on sources usually requeues sooner.
const sourceRequeue = 10 * time.Second

// scope is what the steps of one reconcile share.
type scope struct {
	obj *sourceextv1.ArtifactGenerator
	// ops are the parsed copy operations, by output artifact name.
	ops map[string][]artifactcopy.Operation
	// sources are the fetched source artifacts, by alias.
	sources map[string]fetched
	// inventory is what the generator owns after this reconcile, in spec
	// order; stored reports how many artifacts were stored anew.
	inventory []sourceextv1.ExternalArtifactReference
	stored    int
}

// fetched is one source's artifact and the read-only directory it was
// extracted to.
type fetched struct {
	artifact *fluxmeta.Artifact
	dir      string
}

// reconcile runs the steps in order and stops at the first error.
func (r *Reconciler) reconcile(ctx context.Context, obj *sourceextv1.ArtifactGenerator) error {
	s := &scope{obj: obj}
	for _, step := range []func(context.Context, *scope) error{
		r.validate,
		r.fetchSources,
		r.generate,
		r.prune,
	} {
		if err := step(ctx, s); err != nil {
			return err
		}
	}
	conditions.MarkTrue(obj, fluxmeta.ReadyCondition, fluxmeta.SucceededReason,
		"%d artifact(s) up to date, %d stored anew", len(s.inventory), s.stored)
	return nil
}

// validate checks what the schema cannot: unique aliases and names, copy
// operations and revisions naming a declared alias, and, with
// --no-cross-namespace-refs, sources in the generator's namespace. It stalls,
// since only a spec change helps.
func (r *Reconciler) validate(_ context.Context, s *scope) error {
	obj := s.obj
	aliases := map[string]bool{}
	for _, src := range obj.Spec.Sources {
		if aliases[src.Alias] {
			return invalid("source alias '%s' is used twice", src.Alias)
		}
		aliases[src.Alias] = true
		if r.NoCrossNamespaceRefs && sourceNamespace(obj, src) != obj.Namespace {
			return outcome.StallErr(sourceextv1.AccessDeniedReason, fmt.Errorf(
				"source '%s' is in namespace '%s': cross-namespace references are disabled", src.Alias, src.Namespace))
		}
	}
	s.ops = map[string][]artifactcopy.Operation{}
	for _, out := range obj.Spec.OutputArtifacts {
		if _, dup := s.ops[out.Name]; dup {
			return invalid("artifact name '%s' is used twice", out.Name)
		}
		for field, ref := range map[string]string{"revision": out.Revision, "originRevision": out.OriginRevision} {
			if ref != "" && !aliases[strings.TrimPrefix(ref, "@")] {
				return invalid("artifact '%s': %s '%s' names no source alias", out.Name, field, ref)
			}
		}
		ops := make([]artifactcopy.Operation, 0, len(out.Copy))
		for _, c := range out.Copy {
			op, err := artifactcopy.Parse(c.From, c.To, sourceextv1.ArtifactAlias, c.Exclude)
			if err != nil {
				return invalid("artifact '%s': %s", out.Name, err)
			}
			if !aliases[op.Alias] {
				return invalid("artifact '%s': copy from '%s' names no source alias", out.Name, c.From)
			}
			ops = append(ops, op)
		}
		s.ops[out.Name] = ops
	}
	return nil
}

func invalid(format string, args ...any) error {
	return outcome.StallErr(sourceextv1.ValidationFailedReason, fmt.Errorf(format, args...))
}

// fetchSources gets each source's artifact, downloaded over HTTP and
// verified against its digest (from the cache when the digest is known), and
// records a digest of all of them in status.observedSourcesDigest. It waits
// for a source that does not exist or has no artifact yet.
func (r *Reconciler) fetchSources(ctx context.Context, s *scope) error {
	s.sources = map[string]fetched{}
	h := sha256.New()
	for _, src := range s.obj.Spec.Sources {
		key := types.NamespacedName{Namespace: sourceNamespace(s.obj, src), Name: src.Name}
		o := sourceKinds[src.Kind]()
		err := r.Get(ctx, key, o)
		var a *fluxmeta.Artifact
		if err == nil {
			if a = o.(sourcev1.Source).GetArtifact(); a == nil {
				err = errors.New("it has no artifact yet")
			}
		}
		if err != nil {
			if apierrors.IsNotFound(err) {
				err = errors.New("it does not exist")
			}
			return outcome.WaitErr(sourceextv1.SourceFetchFailedReason, sourceRequeue,
				fmt.Errorf("source '%s' (%s '%s') is unavailable: %w", src.Alias, src.Kind, key, err))
		}
		dir, err := r.Fetcher.Fetch(ctx, a.URL, a.Digest)
		if err != nil {
			return outcome.RetryErr(sourceextv1.SourceFetchFailedReason,
				fmt.Errorf("failed to fetch the artifact of source '%s' (%s '%s'): %w", src.Alias, src.Kind, key, err))
		}
		s.sources[src.Alias] = fetched{artifact: a, dir: dir}
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00", src.Alias, src.Kind, key, a.Revision, a.Digest)
	}
	s.obj.Status.ObservedSourcesDigest = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return nil
}

// generate builds every output artifact and publishes it as an
// ExternalArtifact; outputs whose content did not change are left as they
// are.
func (r *Reconciler) generate(ctx context.Context, s *scope) error {
	for _, out := range s.obj.Spec.OutputArtifacts {
		ref, stored, err := r.generateOne(ctx, s, out)
		if err != nil {
			return err
		}
		s.inventory = append(s.inventory, ref)
		if stored {
			s.stored++
		}
	}
	return nil
}

// generateOne copies one output's files into a fresh directory and hands
// them to publish.
func (r *Reconciler) generateOne(ctx context.Context, s *scope, out sourceextv1.OutputArtifact) (sourceextv1.ExternalArtifactReference, bool, error) {
	dir, err := os.MkdirTemp("", "artifactgenerator-")
	if err != nil {
		return sourceextv1.ExternalArtifactReference{}, false, outcome.RetryErr(sourcev1.DirCreationFailedReason, err)
	}
	defer os.RemoveAll(dir)
	for _, op := range s.ops[out.Name] {
		if err := artifactcopy.Copy(op, s.sources[op.Alias].dir, dir); err != nil {
			return sourceextv1.ExternalArtifactReference{}, false, outcome.RetryErr(sourceextv1.BuildFailedReason,
				fmt.Errorf("failed to build artifact '%s': %w", out.Name, err))
		}
	}
	return r.publish(ctx, s, out, dir)
}

// prune deletes the ExternalArtifacts, and their stored files, that the
// previous inventory held and the spec no longer names, then records the new
// status.inventory.
func (r *Reconciler) prune(ctx context.Context, s *scope) error {
	for _, name := range r.owned(s.obj) {
		if slices.ContainsFunc(s.inventory, func(ref sourceextv1.ExternalArtifactReference) bool { return ref.Name == name }) {
			continue
		}
		if err := r.remove(ctx, s.obj, name); err != nil {
			return err
		}
	}
	s.obj.Status.Inventory = s.inventory
	return nil
}

// cleanup removes every ExternalArtifact the generator owns, with its stored
// files, before the generator's finalizer is removed.
func (r *Reconciler) cleanup(ctx context.Context, obj *sourceextv1.ArtifactGenerator) error {
	for _, name := range r.owned(obj) {
		if err := r.remove(ctx, obj, name); err != nil {
			return err
		}
	}
	return nil
}

// owned lists the names of the ExternalArtifacts in the recorded inventory
// and in the spec (one may have been created before a failed reconcile could
// record it).
func (r *Reconciler) owned(obj *sourceextv1.ArtifactGenerator) []string {
	var names []string
	for _, ref := range obj.Status.Inventory {
		names = append(names, ref.Name)
	}
	for _, out := range obj.Spec.OutputArtifacts {
		if !slices.Contains(names, out.Name) {
			names = append(names, out.Name)
		}
	}
	return names
}
