package helmrelease

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// reconcileHelmChart creates (with the source-controller's finalizer) or
// updates the HelmChart of spec.chart and deletes one made from an earlier
// template at another place. It records the chart in status.helmChart.
func (r *Reconciler) reconcileHelmChart(ctx context.Context, s *scope) error {
	obj := s.obj
	if !obj.HasChartTemplate() {
		if ns, name := obj.Status.GetHelmChart(); name != "" {
			if err := r.deleteHelmChart(ctx, ns, name); err != nil {
				return outcome.RetryErr(helmv2.ArtifactFailedReason, err)
			}
			obj.Status.HelmChart = ""
		}
		return nil
	}
	tpl := obj.Spec.Chart
	ns := tpl.GetNamespace(obj.Namespace)
	if r.NoCrossNamespaceRefs && ns != obj.Namespace {
		return outcome.StallErr(helmv2.ArtifactFailedReason, fmt.Errorf(
			"cross-namespace source reference to '%s/%s' is not allowed: the controller runs with --no-cross-namespace-refs", ns, tpl.Spec.SourceRef.Name))
	}
	if oldNs, oldName := obj.Status.GetHelmChart(); oldName != "" && (oldNs != ns || oldName != obj.GetHelmChartName()) {
		if err := r.deleteHelmChart(ctx, oldNs, oldName); err != nil {
			return outcome.RetryErr(helmv2.ArtifactFailedReason, err)
		}
	}
	hc := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: obj.GetHelmChartName()}}
	_, err := controllerutil.CreateOrPatch(ctx, r.Client, hc, func() error {
		labels := map[string]string{}
		var annotations map[string]string
		if m := tpl.ObjectMeta; m != nil {
			for k, v := range m.Labels {
				labels[k] = v
			}
			annotations = m.Annotations
		}
		labels[helmv2.NameLabel] = obj.Name
		labels[helmv2.NamespaceLabel] = obj.Namespace
		hc.Labels = labels
		if hc.ResourceVersion == "" {
			// Created with the finalizer the source-controller's first
			// reconcile would otherwise add in a patch of its own: one
			// request less per chart, on the path every new release waits
			// on. The source-controller removes it as for any HelmChart.
			controllerutil.AddFinalizer(hc, sourcev1.SourceFinalizer)
		}
		if annotations != nil {
			hc.Annotations = annotations
		}
		version := tpl.Spec.Version
		if version == "" {
			version = "*"
		}
		hc.Spec = sourcev1.HelmChartSpec{
			Chart:   tpl.Spec.Chart,
			Version: version,
			SourceRef: sourcev1.LocalHelmChartSourceReference{
				APIVersion: tpl.Spec.SourceRef.APIVersion,
				Kind:       tpl.Spec.SourceRef.Kind,
				Name:       tpl.Spec.SourceRef.Name,
			},
			Interval:                 tpl.GetInterval(obj.Spec.Interval),
			ReconcileStrategy:        tpl.Spec.ReconcileStrategy,
			ValuesFiles:              tpl.Spec.ValuesFiles,
			IgnoreMissingValuesFiles: tpl.Spec.IgnoreMissingValuesFiles,
		}
		if hc.Spec.ReconcileStrategy == "" {
			hc.Spec.ReconcileStrategy = "ChartVersion"
		}
		if ns == obj.Namespace {
			// Garbage collected with the HelmRelease; across namespaces the
			// finalizer deletes it.
			return controllerutil.SetControllerReference(obj, hc, r.Client.Scheme())
		}
		return nil
	})
	if err != nil {
		return outcome.RetryErr(helmv2.ArtifactFailedReason,
			fmt.Errorf("failed to create or update HelmChart '%s/%s': %w", ns, hc.Name, err))
	}
	obj.Status.HelmChart = ns + "/" + hc.Name
	return nil
}

func (r *Reconciler) deleteHelmChart(ctx context.Context, namespace, name string) error {
	hc := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	if err := r.Delete(ctx, hc); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("failed to delete HelmChart '%s/%s': %w", namespace, name, err)
	}
	return nil
}

// chartSource returns the kind, namespace and name of the chart's source.
func chartSource(obj *helmv2.HelmRelease) (kind, namespace, name string) {
	if obj.HasChartRef() {
		ref := obj.Spec.ChartRef
		ns := ref.Namespace
		if ns == "" {
			ns = obj.Namespace
		}
		return ref.Kind, ns, ref.Name
	}
	if obj.HasChartTemplate() {
		return sourcev1.HelmChartKind, obj.Spec.Chart.GetNamespace(obj.Namespace), obj.GetHelmChartName()
	}
	return "", "", ""
}

// getArtifact waits until the chart source has an artifact for its current
// generation. Sets nothing; the wait shows on Ready. The watch on chart
// sources (chartArtifactReady) wakes the HelmRelease the moment the
// artifact is there, so the wait looks again on its own only after
// artifactRequeue, in case the source never gets one.
func (r *Reconciler) getArtifact(ctx context.Context, s *scope) error {
	kind, ns, name := chartSource(s.obj)
	if r.NoCrossNamespaceRefs && ns != s.obj.Namespace {
		return outcome.StallErr(helmv2.ArtifactFailedReason, fmt.Errorf(
			"cross-namespace chartRef to %s '%s/%s' is not allowed: the controller runs with --no-cross-namespace-refs", kind, ns, name))
	}
	key := types.NamespacedName{Namespace: ns, Name: name}
	var src chartSourceObject
	switch kind {
	case sourcev1.HelmChartKind:
		src = &sourcev1.HelmChart{}
	case sourcev1.OCIRepositoryKind:
		src = &sourcev1.OCIRepository{}
	case sourcev1.ExternalArtifactKind:
		src = &sourcev1.ExternalArtifact{}
	default:
		return outcome.StallErr(helmv2.ArtifactFailedReason,
			fmt.Errorf("unsupported chart source kind '%s': use HelmChart, OCIRepository or ExternalArtifact", kind))
	}
	// A source still building its first artifact, or one for a new spec,
	// is progress, not a failure: Ready says what the release waits on,
	// without a Warning event (which alerts would forward) for every new
	// release. A source that reports why it failed is a Warning.
	noArtifact := outcome.ExpectedWaitErr(helmv2.ArtifactFailedReason, r.artifactRequeue(s.obj),
		fmt.Errorf("%s '%s' has no artifact yet", kind, key))
	if err := r.Get(ctx, key, src); err != nil {
		if apierrors.IsNotFound(err) && s.obj.HasChartTemplate() {
			// Created by this reconcile and not in the cache yet: the
			// same wait as for its artifact, and the same message, so the
			// next reconcile writes no status of its own for it.
			return noArtifact
		}
		return r.sourceUnavailable(s.obj, kind, key, err)
	}
	a, current := artifactOf(src)
	if a == nil {
		if why := whyNotReady(src); why != "" {
			return outcome.WaitErr(helmv2.ArtifactFailedReason, r.artifactRequeue(s.obj),
				fmt.Errorf("%s '%s' has no artifact yet%s", kind, key, why))
		}
		return noArtifact
	}
	if !current {
		return outcome.ExpectedWaitErr(helmv2.ArtifactFailedReason, r.artifactRequeue(s.obj),
			fmt.Errorf("%s '%s' has not produced an artifact for its latest spec yet", kind, key))
	}
	s.sourceKind = kind
	s.artifact = a.DeepCopy()
	return nil
}

// chartSourceObject is a HelmChart, an OCIRepository or an
// ExternalArtifact.
type chartSourceObject interface {
	client.Object
	GetArtifact() *fluxmeta.Artifact
}

// artifactOf returns the artifact of a chart source and whether it is for
// the source's current spec. An ExternalArtifact has no spec of its own to
// observe: its producer replaces status.artifact whenever the content
// changes.
func artifactOf(src client.Object) (a *fluxmeta.Artifact, current bool) {
	var observed int64
	switch o := src.(type) {
	case *sourcev1.HelmChart:
		observed = o.Status.ObservedGeneration
	case *sourcev1.OCIRepository:
		observed = o.Status.ObservedGeneration
	case *sourcev1.ExternalArtifact:
		observed = o.Generation
	default:
		return nil, false
	}
	a = src.(chartSourceObject).GetArtifact()
	return a, a != nil && observed >= src.GetGeneration()
}

// artifactRequeue is when a HelmRelease waiting for its chart's artifact
// looks again without being woken. The watch on chart sources wakes it
// when the artifact comes; this is the safety net for an event that never
// comes (a source that is broken, a watch restarted under load), no sooner
// than ArtifactRequeue and never later than the interval.
func (r *Reconciler) artifactRequeue(obj *helmv2.HelmRelease) time.Duration {
	d := r.ArtifactRequeue
	if d <= 0 {
		d = 30 * time.Second
	}
	return min(d, obj.GetRequeueAfter())
}

func (r *Reconciler) sourceUnavailable(obj *helmv2.HelmRelease, kind string, key types.NamespacedName, err error) error {
	if apierrors.IsNotFound(err) {
		return outcome.WaitErr(helmv2.ArtifactFailedReason, r.artifactRequeue(obj),
			fmt.Errorf("%s '%s' does not exist yet", kind, key))
	}
	return outcome.RetryErr(helmv2.ArtifactFailedReason, fmt.Errorf("failed to get %s '%s': %w", kind, key, err))
}

// loadChart downloads the chart artifact, verifies its digest and loads
// it. For an OCIRepository or an ExternalArtifact the chart version gets
// the first 12 hex digits of the artifact digest, as Flux does, so new
// content under an unchanged chart version (a re-pushed tag, a chart
// directory changed in Git) upgrades.
func (r *Reconciler) loadChart(ctx context.Context, s *scope) error {
	load := r.loadPackagedChart
	if s.sourceKind == sourcev1.ExternalArtifactKind {
		load = r.loadChartTree
	}
	chrt, err := load(ctx, s.artifact)
	if err != nil {
		return err
	}
	if err := chrt.Validate(); err != nil {
		return outcome.StallErr(helmv2.ArtifactFailedReason, fmt.Errorf("invalid chart: %w", err))
	}
	s.obj.Status.LastAttemptedRevisionDigest = ""
	if s.sourceKind == sourcev1.OCIRepositoryKind || s.sourceKind == sourcev1.ExternalArtifactKind {
		s.obj.Status.LastAttemptedRevisionDigest = s.artifact.Digest
		if hex := digestHex(s.artifact.Digest); hex != "" {
			chrt.Metadata.Version = withBuild(chrt.Metadata.Version, hex)
		}
	}
	s.chart = chrt
	return nil
}

// loadPackagedChart loads an artifact that is a packaged chart, as
// HelmCharts and OCIRepositories of charts serve.
func (r *Reconciler) loadPackagedChart(ctx context.Context, a *fluxmeta.Artifact) (*chart.Chart, error) {
	path, err := r.Fetcher.FetchFile(ctx, a.URL, a.Digest)
	if err != nil {
		return nil, outcome.RetryErr(helmv2.ArtifactFailedReason,
			fmt.Errorf("failed to fetch chart artifact '%s': %w", a.Revision, err))
	}
	chrt, err := loader.Load(path)
	if err != nil {
		return nil, outcome.StallErr(helmv2.ArtifactFailedReason,
			fmt.Errorf("failed to load chart from artifact '%s': %w", a.Revision, err))
	}
	return chrt, nil
}

// loadChartTree loads an ExternalArtifact's chart. Its producer may store
// a packaged chart (files under "<chart>/") or a tarball of a chart
// directory with Chart.yaml at its root, as an ArtifactGenerator copying
// a chart to "@artifact/" makes; Helm's archive loader refuses the second,
// so the artifact is extracted (with the fetcher's safe untar) and the
// chart loaded from the directory holding Chart.yaml.
func (r *Reconciler) loadChartTree(ctx context.Context, a *fluxmeta.Artifact) (*chart.Chart, error) {
	dir, err := r.Fetcher.Fetch(ctx, a.URL, a.Digest)
	if err != nil {
		return nil, outcome.RetryErr(helmv2.ArtifactFailedReason,
			fmt.Errorf("failed to fetch chart artifact '%s': %w", a.Revision, err))
	}
	root, err := chartRoot(dir)
	if err != nil {
		return nil, outcome.StallErr(helmv2.ArtifactFailedReason,
			fmt.Errorf("artifact '%s' holds no chart: %w", a.Revision, err))
	}
	chrt, err := loader.LoadDir(root)
	if err != nil {
		return nil, outcome.StallErr(helmv2.ArtifactFailedReason,
			fmt.Errorf("failed to load chart from artifact '%s': %w", a.Revision, err))
	}
	return chrt, nil
}

// chartRoot returns dir when it holds Chart.yaml, else its only
// subdirectory when that one does.
func chartRoot(dir string) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, chartutil.ChartfileName)); err == nil {
		return dir, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	if len(entries) == 1 && entries[0].IsDir() {
		sub := filepath.Join(dir, entries[0].Name())
		if _, err := os.Stat(filepath.Join(sub, chartutil.ChartfileName)); err == nil {
			return sub, nil
		}
	}
	return "", fmt.Errorf("no %s at its root or in its only directory", chartutil.ChartfileName)
}

func digestHex(d string) string {
	_, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) < 12 {
		return ""
	}
	return hex[:12]
}

// withBuild puts build metadata on a semver version, replacing any.
func withBuild(version, build string) string {
	if i := strings.IndexByte(version, '+'); i >= 0 {
		version = version[:i]
	}
	return version + "+" + build
}

// chartRevision names the chart in messages and events: "name@version".
func chartRevision(c *chart.Chart) string {
	if c == nil || c.Metadata == nil {
		return ""
	}
	return c.Metadata.Name + "@" + c.Metadata.Version
}

// whyNotReady is ": " and the source's Ready message when it says why it
// failed, so that a HelmRelease shows the cause (a chart over a size limit,
// a missing version) and not only that it waits.
func whyNotReady(src client.Object) string {
	g, ok := src.(interface{ GetConditions() []metav1.Condition })
	if !ok {
		return ""
	}
	for _, c := range g.GetConditions() {
		if c.Type == fluxmeta.ReadyCondition && c.Status == metav1.ConditionFalse && c.Message != "" {
			return ": " + c.Message
		}
	}
	return ""
}
