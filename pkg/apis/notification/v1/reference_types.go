package v1

// CrossNamespaceObjectReference selects one or more Ferry objects by kind,
// name (or "*") and labels, in the referring object's namespace or another.
// Receivers use it for the objects to reconcile, Alerts for the objects whose
// events they forward.
type CrossNamespaceObjectReference struct {
	// apiVersion of the referenced objects, e.g. source.toolkit.fluxcd.io/v1.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// kind of the referenced objects; only kinds Ferry serves are accepted.
	// +kubebuilder:validation:Enum=GitRepository;Kustomization;HelmRelease;HelmChart;HelmRepository;OCIRepository
	// +required
	Kind string `json:"kind"`

	// name of the referenced object, or "*" for every object of the kind
	// (needed when matchLabels is set).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// namespace of the referenced objects, defaults to the namespace of the
	// referring object. "*" selects all namespaces and needs name "*" too.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// matchLabels narrows a name "*" selection to objects carrying all of
	// these labels with these values.
	// +optional
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}
