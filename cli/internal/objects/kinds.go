// Package objects knows the Flux kinds Ferry serves and turns each object
// into a Summary (ready, reason, message, revision, suspended, age) read
// from its status alone. It reads unstructured objects through the user's
// own client, so it works the same against Ferry's controllers and Flux's,
// and a field one of them adds never breaks it. The CLI's `get` and the web
// UI's overview share it.
package objects

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Groups of kinds, as `ferry get` takes them.
const (
	GroupAll     = "all"
	GroupSources = "sources"
	GroupKS      = "ks"
	GroupHR      = "hr"
	// GroupRollouts is the Rollouts' short name, offered as a group.
	GroupRollouts = "ro"
)

// Kind is one Flux kind: its API version, resource name and the names a
// user may type for it.
type Kind struct {
	// Kind is the API kind, e.g. GitRepository.
	Kind string
	// GroupVersion is where Ferry and Flux serve it.
	GroupVersion schema.GroupVersion
	// Resource is the plural resource name.
	Resource string
	// ShortNames are the CRD's short names plus Flux CLI's aliases.
	ShortNames []string
	// Source is true for the kinds that produce artifacts.
	Source bool
	// Optional kinds are installed only with their controller (the
	// rollout-controller's); `ferry check` does not ask for their CRDs.
	Optional bool
}

// GVK is the kind's GroupVersionKind.
func (k Kind) GVK() schema.GroupVersionKind { return k.GroupVersion.WithKind(k.Kind) }

// GVR is the kind's GroupVersionResource.
func (k Kind) GVR() schema.GroupVersionResource { return k.GroupVersion.WithResource(k.Resource) }

var (
	sourceGV    = schema.GroupVersion{Group: "source.toolkit.fluxcd.io", Version: "v1"}
	kustomizeGV = schema.GroupVersion{Group: "kustomize.toolkit.fluxcd.io", Version: "v1"}
	helmGV      = schema.GroupVersion{Group: "helm.toolkit.fluxcd.io", Version: "v2"}
	rolloutsGV  = schema.GroupVersion{Group: "argoproj.io", Version: "v1alpha1"}
)

// The kinds, in the order `ferry get all` lists them: sources first, as
// the appliers depend on them.
var (
	GitRepository    = Kind{Kind: "GitRepository", GroupVersion: sourceGV, Resource: "gitrepositories", ShortNames: []string{"gitrepo", "git"}, Source: true}
	OCIRepository    = Kind{Kind: "OCIRepository", GroupVersion: sourceGV, Resource: "ocirepositories", ShortNames: []string{"ocirepo", "oci"}, Source: true}
	HelmRepository   = Kind{Kind: "HelmRepository", GroupVersion: sourceGV, Resource: "helmrepositories", ShortNames: []string{"helmrepo", "helm"}, Source: true}
	HelmChart        = Kind{Kind: "HelmChart", GroupVersion: sourceGV, Resource: "helmcharts", ShortNames: []string{"hc", "chart"}, Source: true}
	ExternalArtifact = Kind{Kind: "ExternalArtifact", GroupVersion: sourceGV, Resource: "externalartifacts", ShortNames: []string{"ea"}, Source: true}
	Kustomization    = Kind{Kind: "Kustomization", GroupVersion: kustomizeGV, Resource: "kustomizations", ShortNames: []string{"ks"}}
	HelmRelease      = Kind{Kind: "HelmRelease", GroupVersion: helmGV, Resource: "helmreleases", ShortNames: []string{"hr"}}
	// Rollout and AnalysisRun are the rollout-controller's kinds, served
	// under Argo Rollouts' group, so Argo Rollouts' own controller's
	// objects are listed the same way.
	Rollout     = Kind{Kind: "Rollout", GroupVersion: rolloutsGV, Resource: "rollouts", ShortNames: []string{"ro", "rollout"}, Optional: true}
	AnalysisRun = Kind{Kind: "AnalysisRun", GroupVersion: rolloutsGV, Resource: "analysisruns", ShortNames: []string{"ar", "analysisrun"}, Optional: true}
)

// Kinds lists every kind Ferry serves that has a Ready status, in the
// order `ferry get all` lists them. AnalysisRuns are not among them: a
// Rollout shows its own, and `ferry get ar` lists them all.
var Kinds = []Kind{GitRepository, OCIRepository, HelmRepository, HelmChart, ExternalArtifact, Kustomization, HelmRelease, Rollout}

// named are the kinds a user may name: Kinds and AnalysisRun.
var named = append(append([]Kind(nil), Kinds...), AnalysisRun)

// Sources lists the source kinds.
func Sources() []Kind {
	var out []Kind
	for _, k := range Kinds {
		if k.Source {
			out = append(out, k)
		}
	}
	return out
}

// Resolve turns what a user typed (a group name, a kind, its plural or a
// short name, any case) into the kinds it means.
func Resolve(name string) ([]Kind, error) {
	switch strings.ToLower(name) {
	case "", GroupAll:
		return Kinds, nil
	case GroupSources, "source":
		return Sources(), nil
	}
	k, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	return []Kind{k}, nil
}

// Lookup finds one kind by kind, plural, singular or short name, any case.
func Lookup(name string) (Kind, error) {
	n := strings.ToLower(name)
	for _, k := range named {
		if n == strings.ToLower(k.Kind) || n == k.Resource {
			return k, nil
		}
		for _, s := range k.ShortNames {
			if n == s {
				return k, nil
			}
		}
	}
	return Kind{}, fmt.Errorf("unknown kind %q: use one of all, sources, ks, hr, gitrepo, ocirepo, helmrepo, hc, ea, ro, ar", name)
}

// ByGVK finds the kind of an object; ok is false for a kind Ferry does not
// serve.
func ByGVK(gvk schema.GroupVersionKind) (Kind, bool) {
	for _, k := range Kinds {
		if k.Kind == gvk.Kind && k.GroupVersion.Group == gvk.Group {
			return k, true
		}
	}
	return Kind{}, false
}
