package meta

import fluxmeta "github.com/fluxcd/pkg/apis/meta"

// DependencyReference names an object of the same kind that must be ready
// before this one is reconciled.
type DependencyReference struct {
	// name of the dependency.
	// +required
	Name string `json:"name"`

	// namespace of the dependency, defaults to the namespace of the object
	// that depends on it.
	// +optional
	Namespace string `json:"namespace,omitempty"`
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
