package meta

import fluxmeta "github.com/fluxcd/pkg/apis/meta"

// DependencyReference names an object that must be ready before this one
// is reconciled: a Kustomization or a HelmRelease, whichever the object is
// (a Kustomization may wait for a HelmRelease, and the other way round).
type DependencyReference struct {
	// kind of the dependency, Kustomization or HelmRelease; defaults to the
	// kind of the object that depends on it.
	// +kubebuilder:validation:Enum=Kustomization;HelmRelease
	// +optional
	Kind string `json:"kind,omitempty"`

	// name of the dependency.
	// +required
	Name string `json:"name"`

	// namespace of the dependency, defaults to the namespace of the object
	// that depends on it.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// Kinds a dependsOn entry may name.
const (
	KustomizationKind = "Kustomization"
	HelmReleaseKind   = "HelmRelease"
)

// KindOr returns the dependency's kind, or own (the dependent's kind) when
// the entry leaves it out.
func (in DependencyReference) KindOr(own string) string {
	if in.Kind == "" {
		return own
	}
	return in.Kind
}

// String returns "namespace/name", or "name" when no namespace is set.
func (in DependencyReference) String() string {
	if in.Namespace == "" {
		return in.Name
	}
	return in.Namespace + "/" + in.Name
}

// KubeConfigReference points at a Secret holding a kubeconfig for a remote
// cluster.
type KubeConfigReference struct {
	// secretRef holds the name of a Secret in the object's namespace and the
	// key of the kubeconfig in it (default "value", then "value.yaml").
	// +required
	SecretRef fluxmeta.SecretKeyReference `json:"secretRef"`
}
