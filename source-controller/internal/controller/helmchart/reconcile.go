package helmchart

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/source-controller/internal/buildcache"
	"github.com/ferrycd/ferry/source-controller/internal/controller/sourcestatus"
)

// sourceRequeue is how long to wait for a source that does not exist yet;
// a source that exists requeues its charts when its artifact changes.
const sourceRequeue = 10 * time.Second

// scope is what the steps of one reconcile share.
type scope struct {
	obj *sourcev1.HelmChart
	// helmRepo or gitRepo is the source, by spec.sourceRef.kind.
	helmRepo *sourcev1.HelmRepository
	gitRepo  *sourcev1.GitRepository
	// sourceRevision is the source artifact's revision ("" for OCI).
	sourceRevision string
	// dir is the working directory; empty until a step needs one.
	dir string
	// revision is the revision of the artifact to serve.
	revision string
	// chartName is the chart's name, for the artifact's file name.
	chartName string
	// packaged is the .tgz to store; empty when the artifact is up to date.
	packaged string
	// pulled is true when packaged is the repository's archive unchanged.
	pulled bool
	// valuesFiles are the values files merged into the chart.
	valuesFiles []string
	// cached is the shared build packaged names, to link rather than copy;
	// release lets the cache prune it once it is linked.
	cached  *buildcache.Entry[builtChart]
	release func()
}

// reconcile runs the steps in order and stops at the first error.
func (r *Reconciler) reconcile(ctx context.Context, obj *sourcev1.HelmChart) error {
	s := &scope{obj: obj}
	defer func() {
		if s.dir != "" {
			_ = os.RemoveAll(s.dir)
		}
		if s.release != nil {
			s.release()
		}
	}()
	for _, step := range []func(context.Context, *scope) error{
		r.checkStorage,
		r.resolveSource,
		r.build,
		r.storeArtifact,
	} {
		if err := step(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// checkStorage drops a status.artifact whose file is gone or corrupt, so the
// chart is fetched or built again. Sets ArtifactInStorage.
func (r *Reconciler) checkStorage(_ context.Context, s *scope) error {
	if !sourcestatus.CheckStorage(r.Storage, s.obj, s.obj.Status.Artifact) {
		if r.Charts != nil {
			// The damaged file may be a shared build's.
			r.Charts.Evict(r.Storage.LocalPath(*s.obj.Status.Artifact))
		}
		s.obj.Status.Artifact = nil
		s.obj.Status.URL = ""
	}
	return nil
}

// resolveSource gets the source named in spec.sourceRef and waits while it
// does not exist or has no artifact yet. Sets FetchFailed while waiting.
func (r *Reconciler) resolveSource(ctx context.Context, s *scope) error {
	obj := s.obj
	ref := obj.Spec.SourceRef
	key := types.NamespacedName{Namespace: obj.Namespace, Name: ref.Name}
	var err error
	switch ref.Kind {
	case sourcev1.HelmRepositoryKind:
		s.helmRepo = &sourcev1.HelmRepository{}
		if err = r.Get(ctx, key, s.helmRepo); err == nil && s.helmRepo.Spec.Type != sourcev1.HelmRepositoryTypeOCI {
			if a := s.helmRepo.Status.Artifact; a == nil {
				err = errors.New("it has no artifact yet")
			} else {
				s.sourceRevision = a.Revision
			}
		}
	case sourcev1.GitRepositoryKind:
		s.gitRepo = &sourcev1.GitRepository{}
		if err = r.Get(ctx, key, s.gitRepo); err == nil {
			if a := s.gitRepo.Status.Artifact; a == nil {
				err = errors.New("it has no artifact yet")
			} else {
				s.sourceRevision = a.Revision
			}
		}
	default:
		err = fmt.Errorf("unsupported source kind '%s' in spec.sourceRef: use HelmRepository or GitRepository", ref.Kind)
		conditions.MarkTrue(obj, sourcev1.FetchFailedCondition, sourcev1.SourceUnavailableReason, "%s", err)
		return outcome.StallErr(sourcev1.SourceUnavailableReason, err)
	}
	if err != nil {
		if apierrors.IsNotFound(err) {
			err = errors.New("it does not exist")
		}
		err = fmt.Errorf("source %s '%s' is unavailable: %w", ref.Kind, key, err)
		conditions.MarkTrue(obj, sourcev1.FetchFailedCondition, sourcev1.SourceUnavailableReason, "%s", err)
		return outcome.WaitErr(sourcev1.SourceUnavailableReason, sourceRequeue, err)
	}
	return nil
}

// build fetches or packages the chart from the source, unless the stored
// artifact already serves the version it would produce. Sets FetchFailed
// and BuildFailed on failure, SourceVerified with spec.verify.
func (r *Reconciler) build(ctx context.Context, s *scope) error {
	if err := refuseUnverifiable(s); err != nil {
		return err
	}
	var err error
	switch {
	case s.gitRepo != nil:
		err = r.buildFromGit(ctx, s)
	case s.helmRepo.Spec.Type == sourcev1.HelmRepositoryTypeOCI:
		err = r.buildFromRegistry(ctx, s)
	default:
		err = r.buildFromIndex(ctx, s)
	}
	if err != nil {
		return err
	}
	conditions.Delete(s.obj, sourcev1.FetchFailedCondition)
	conditions.Delete(s.obj, sourcev1.BuildFailedCondition)
	return nil
}

// upToDate reports whether the stored artifact has revision and was built
// from the current spec, so nothing needs downloading or packaging.
func upToDate(obj *sourcev1.HelmChart, revision string) bool {
	a := obj.Status.Artifact
	return a != nil && a.Revision == revision && obj.Status.ObservedGeneration == obj.Generation &&
		obj.Status.ObservedChartName == obj.Spec.Chart
}

// generationMetadata is the version metadata values files add: the object's
// generation, so a change of values files yields a new version, as in Flux.
func generationMetadata(obj *sourcev1.HelmChart) string {
	if len(obj.Spec.ValuesFiles) == 0 {
		return ""
	}
	return strconv.FormatInt(obj.Generation, 10)
}

// fetchFailed marks FetchFailed and returns a retryable error with reason.
func fetchFailed(obj *sourcev1.HelmChart, reason string, err error) error {
	conditions.MarkTrue(obj, sourcev1.FetchFailedCondition, reason, "%s", err)
	return outcome.RetryErr(reason, err)
}

// buildFailed marks BuildFailed and returns a retryable error with reason.
func buildFailed(obj *sourcev1.HelmChart, reason string, err error) error {
	conditions.Delete(obj, sourcev1.FetchFailedCondition)
	conditions.MarkTrue(obj, sourcev1.BuildFailedCondition, reason, "%s", err)
	return outcome.RetryErr(reason, err)
}

// readyFromStorage sets Ready from ArtifactInStorage when nothing was
// rebuilt, so the message still says how the chart was made.
func readyFromStorage(obj *sourcev1.HelmChart) {
	if c := conditions.Get(obj, sourcev1.ArtifactInStorageCondition); c != nil && c.Status == "True" {
		conditions.MarkTrue(obj, fluxmeta.ReadyCondition, c.Reason, "%s", c.Message)
		return
	}
	conditions.MarkTrue(obj, fluxmeta.ReadyCondition, fluxmeta.SucceededReason,
		"stored artifact for revision '%s'", obj.Status.Artifact.Revision)
}
