package v1

import (
	"fmt"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
)

// CrossNamespaceSourceReference names the source object whose artifact holds
// the manifests.
type CrossNamespaceSourceReference struct {
	// apiVersion of the source, e.g. source.toolkit.fluxcd.io/v1; the served
	// version is used when it is empty.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// kind of the source: GitRepository, OCIRepository, or ExternalArtifact
	// (an artifact another controller produces, such as an
	// ArtifactGenerator).
	// +kubebuilder:validation:Enum=OCIRepository;GitRepository;ExternalArtifact
	// +required
	Kind string `json:"kind"`

	// name of the source.
	// +required
	Name string `json:"name"`

	// namespace of the source, defaults to the namespace of the
	// Kustomization. Controllers may refuse references to other namespaces.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// String returns "Kind/name", or "Kind/namespace/name" when the reference
// names a namespace.
func (in CrossNamespaceSourceReference) String() string {
	if in.Namespace != "" {
		return fmt.Sprintf("%s/%s/%s", in.Kind, in.Namespace, in.Name)
	}
	return fmt.Sprintf("%s/%s", in.Kind, in.Name)
}

// Decryption says how to decrypt encrypted Secrets found in the build output
// before they are applied.
type Decryption struct {
	// provider of the encryption; SOPS is the only one.
	// +kubebuilder:validation:Enum=sops
	// +required
	Provider string `json:"provider"`

	// secretRef names a Secret in the Kustomization's namespace holding the
	// private keys (age, OpenPGP) or KMS credentials used to decrypt.
	// +optional
	SecretRef *fluxmeta.LocalObjectReference `json:"secretRef,omitempty"`
}

// PostBuild holds what is done to the manifests after kustomize build.
type PostBuild struct {
	// substitute maps variable names to values; ${name} in the manifests is
	// replaced by the value. Bash-style forms such as ${name:=default} work
	// too. These values win over those from substituteFrom.
	// +optional
	Substitute map[string]string `json:"substitute,omitempty"`

	// substituteFrom lists ConfigMaps and Secrets whose data keys and values
	// are used as variables, in order; a later entry overrides an earlier
	// one.
	// +optional
	SubstituteFrom []SubstituteReference `json:"substituteFrom,omitempty"`
}

// SubstituteReference names a ConfigMap or Secret in the Kustomization's
// namespace that holds substitution variables.
type SubstituteReference struct {
	// kind of the object holding the variables.
	// +kubebuilder:validation:Enum=Secret;ConfigMap
	// +required
	Kind string `json:"kind"`

	// name of the object holding the variables.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// optional, when true, treats a missing object as one without variables
	// instead of failing the reconcile.
	// +kubebuilder:default:=false
	// +optional
	Optional bool `json:"optional,omitempty"`
}

// CommonMetadata holds labels and annotations added to every applied object.
type CommonMetadata struct {
	// annotations to set on every object, replacing any existing value of
	// the same key.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// labels to set on every object, replacing any existing value of the
	// same key.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
}

// CustomHealthCheck tells the health assessment how to read the status of a
// custom resource kind, through CEL expressions over the object.
type CustomHealthCheck struct {
	// apiVersion of the custom resources the expressions apply to.
	// +required
	APIVersion string `json:"apiVersion"`

	// kind of the custom resources the expressions apply to.
	// +required
	Kind string `json:"kind"`

	// current is a CEL expression that is true once the object has reached
	// its desired state.
	// +required
	Current string `json:"current"`

	// inProgress is a CEL expression that is true while the object is still
	// on its way; it is evaluated first.
	// +optional
	InProgress string `json:"inProgress,omitempty"`

	// failed is a CEL expression that is true when the object has failed;
	// it is evaluated before current.
	// +optional
	Failed string `json:"failed,omitempty"`
}

// ResourceInventory lists the objects a Kustomization applied at its last
// successful reconcile; pruning compares it with the next one.
type ResourceInventory struct {
	// entries are the applied objects.
	// +optional
	Entries []ResourceRef `json:"entries"`
}

// ResourceRef identifies one applied object.
type ResourceRef struct {
	// id is "<namespace>_<name>_<group>_<kind>", with empty parts for a
	// cluster-scoped object or the core group.
	// +required
	ID string `json:"id"`

	// v is the API version the object was applied with.
	// +required
	Version string `json:"v"`
}
