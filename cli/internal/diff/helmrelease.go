package diff

import (
	"context"
	"fmt"
	"os"

	helmaction "helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/ferrycd/ferry/cli/internal/tree"
	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/helmvalues"
)

// HelmFieldManager is helm-controller's field manager.
const HelmFieldManager = "helm-controller"

// HelmReleaseRequest says what to render.
type HelmReleaseRequest struct {
	HelmRelease *helmv2.HelmRelease
	// ChartDir, when set, is a local chart used in place of the source's.
	ChartDir string
	// ValuesFiles are merged over the composed values, later files
	// winning, as helm's --values.
	ValuesFiles []string
}

// Render is a HelmRelease's rendered manifest.
type Render struct {
	Objects []*unstructured.Unstructured
	// Chart is name@version of the chart rendered.
	Chart string
	// ValuesDigest is the composed values' digest, as the controller
	// records it in status.history.
	ValuesDigest string
	Notes        []string
}

// RenderHelmRelease renders the chart with the composed values as
// helm-controller does: values from pkg/helmvalues (valuesFrom included,
// read with the user's client), the release name and namespace from the
// spec, the cluster's version and APIs as capabilities, and the owner
// labels the controller sets.
func (e *Engine) RenderHelmRelease(ctx context.Context, req HelmReleaseRequest, artifacts *Artifacts, kube kubernetes.Interface) (*Render, error) {
	hr := req.HelmRelease
	vals, err := helmvalues.Compose(ctx, e.Client, hr)
	if err != nil {
		return nil, err
	}
	for _, f := range req.ValuesFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		m := map[string]any{}
		if err := yaml.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("reading values %s: %w", f, err)
		}
		vals = chartutil.MergeTables(m, vals)
	}
	chrt, err := e.chart(ctx, req, artifacts)
	if err != nil {
		return nil, err
	}
	a := helmaction.NewInstall(&helmaction.Configuration{Log: func(string, ...any) {}})
	a.DryRun, a.ClientOnly, a.Replace = true, true, true
	a.ReleaseName, a.Namespace = hr.GetReleaseName(), hr.GetReleaseNamespace()
	a.DisableHooks = true
	a.IncludeCRDs = hr.GetInstall().CRDs == "" || hr.GetInstall().CRDs == helmv2.CRDsPolicyCreate
	if kube != nil {
		if err := capabilities(a, kube.Discovery()); err != nil {
			return nil, err
		}
	}
	rel, err := a.RunWithContext(ctx, chrt, vals)
	if err != nil {
		return nil, fmt.Errorf("rendering chart %s for %s/%s: %w", chrt.Metadata.Name, hr.Namespace, hr.Name, err)
	}
	objs, err := tree.ManifestObjects(rel.Manifest)
	if err != nil {
		return nil, err
	}
	r := &Render{Chart: chrt.Metadata.Name + "@" + chrt.Metadata.Version, ValuesDigest: helmvalues.Digest(vals)}
	for _, o := range objs {
		if err := e.releaseNamespace(o, a.Namespace); err != nil {
			return nil, err
		}
		labels := o.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[helmv2.NameLabel], labels[helmv2.NamespaceLabel] = hr.Name, hr.Namespace
		o.SetLabels(labels)
		r.Objects = append(r.Objects, o)
	}
	if len(hr.Spec.PostRenderers) > 0 {
		r.Notes = append(r.Notes, "spec.postRenderers are not applied by the diff: objects they patch may show changes the controller would not make")
	}
	return r, nil
}

// releaseNamespace sets the release namespace on namespaced objects the
// chart left without one, as Helm's kube client does.
func (e *Engine) releaseNamespace(o *unstructured.Unstructured, ns string) error {
	if o.GetNamespace() != "" {
		return nil
	}
	namespaced, err := e.Client.IsObjectNamespaced(o)
	if err != nil {
		// A kind the cluster does not serve yet (its CRD comes with the
		// chart) is most likely namespaced; the dry-run will tell.
		namespaced = true
	}
	if namespaced {
		o.SetNamespace(ns)
	}
	return nil
}

// capabilities gives the render the cluster's version and API versions,
// as a real install has them, so charts that branch on them render true.
func capabilities(a *helmaction.Install, d discovery.DiscoveryInterface) error {
	v, err := d.ServerVersion()
	if err != nil {
		return fmt.Errorf("reading the cluster version: %w", err)
	}
	kv, err := chartutil.ParseKubeVersion(v.GitVersion)
	if err != nil {
		return err
	}
	a.KubeVersion = kv
	groups, err := d.ServerGroups()
	if err != nil {
		return err
	}
	for _, g := range groups.Groups {
		for _, gv := range g.Versions {
			a.APIVersions = append(a.APIVersions, gv.GroupVersion)
		}
	}
	return nil
}

// chart loads the local chart directory or the source's chart artifact.
func (e *Engine) chart(ctx context.Context, req HelmReleaseRequest, artifacts *Artifacts) (*chart.Chart, error) {
	if req.ChartDir != "" {
		c, err := loader.Load(req.ChartDir)
		if err != nil {
			return nil, fmt.Errorf("loading chart %s: %w", req.ChartDir, err)
		}
		return c, nil
	}
	hr := req.HelmRelease
	var kind, ns, name string
	switch {
	case hr.HasChartRef():
		kind, ns, name = hr.Spec.ChartRef.Kind, hr.Spec.ChartRef.Namespace, hr.Spec.ChartRef.Name
		if ns == "" {
			ns = hr.Namespace
		}
	case hr.HasChartTemplate():
		kind, ns, name = sourcev1.HelmChartKind, hr.Spec.Chart.GetNamespace(hr.Namespace), hr.GetHelmChartName()
	default:
		return nil, fmt.Errorf("HelmRelease %s/%s has neither spec.chart nor spec.chartRef: pass --chart DIR", hr.Namespace, hr.Name)
	}
	src := &unstructured.Unstructured{}
	src.SetGroupVersionKind(sourcev1.GroupVersion.WithKind(kind))
	if err := e.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, src); err != nil {
		return nil, fmt.Errorf("reading the chart source %s %s/%s: %w", kind, ns, name, err)
	}
	art, ok := artifactOf(src)
	if !ok || art["url"] == "" {
		return nil, fmt.Errorf("the chart source %s %s/%s has no artifact yet: pass --chart DIR", kind, ns, name)
	}
	path, err := artifacts.FetchFile(ctx, art["url"], art["digest"])
	if err != nil {
		return nil, fmt.Errorf("fetching the chart of %s %s/%s: %w", kind, ns, name, err)
	}
	c, err := loader.Load(path)
	if err != nil {
		return nil, fmt.Errorf("loading the chart artifact %s: %w", art["revision"], err)
	}
	return c, nil
}

// HelmRelease diffs what an upgrade now would change: the render
// dry-run against the live objects, plus the objects of the current
// release the new render no longer has (Helm deletes them).
func (e *Engine) HelmRelease(ctx context.Context, req HelmReleaseRequest, artifacts *Artifacts, kube kubernetes.Interface) (*Result, error) {
	r, err := e.RenderHelmRelease(ctx, req, artifacts, kube)
	if err != nil {
		return nil, err
	}
	hr := req.HelmRelease
	owner := Owner{Field: HelmFieldManager, Group: "helm.toolkit.fluxcd.io", Name: hr.Name, Namespace: hr.Namespace}
	objs, err := e.DryRun(ctx, r.Objects, owner, ApplyOptions{})
	if err != nil {
		return nil, err
	}
	res := &Result{Revision: r.Chart, Objects: objs, Notes: r.Notes}
	var current []*unstructured.Unstructured
	if len(hr.Status.History) > 0 && kube != nil {
		snap := hr.Status.History[0]
		storage := hr.Status.StorageNamespace
		if storage == "" {
			storage = hr.GetStorageNamespace()
		}
		w := &tree.Walker{Client: e.Client, Kube: kube}
		manifest, err := w.Manifest(ctx, tree.Release{Name: snap.Name, Namespace: snap.Namespace, Version: int64(snap.Version), StorageNamespace: storage})
		if err != nil {
			return nil, err
		}
		if current, err = tree.ManifestObjects(manifest); err != nil {
			return nil, err
		}
		for _, o := range current {
			if err := e.releaseNamespace(o, snap.Namespace); err != nil {
				return nil, err
			}
		}
		drift := len(req.ValuesFiles) == 0 && req.ChartDir == "" &&
			snap.ConfigDigest == r.ValuesDigest && snap.ChartName+"@"+snap.ChartVersion == r.Chart
		for i := range res.Objects {
			if res.Objects[i].Action == Configured {
				res.Objects[i].Drift = drift
			}
		}
	}
	removed, err := e.Removed(ctx, current, r.Objects)
	if err != nil {
		return nil, err
	}
	res.Objects = append(res.Objects, removed...)
	return res, nil
}

// Removed returns the live objects of previous that next lacks, shown as
// pruned.
func (e *Engine) Removed(ctx context.Context, previous, next []*unstructured.Unstructured) ([]ObjectDiff, error) {
	keep := map[string]bool{}
	for _, o := range next {
		keep[newObjectDiff(o).Ref] = true
	}
	var out []ObjectDiff
	for _, o := range previous {
		d := newObjectDiff(o)
		if keep[d.Ref] {
			continue
		}
		live, err := e.live(ctx, o.GroupVersionKind(), o.GetNamespace(), o.GetName())
		if err != nil {
			return nil, err
		}
		if live == nil {
			continue
		}
		if d, err = e.pruned(live); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}
