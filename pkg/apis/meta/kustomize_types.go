package meta

// The kustomize patch, selector and image types that Kustomizations and
// HelmRelease post-renderers share, defined once: both are kustomize
// underneath, and Flux gives them the same JSON shape in both APIs.

// Patch is an inline kustomize patch, strategic merge or JSON 6902, and the
// objects it applies to. It has the JSON shape of Flux's kustomize.Patch.
type Patch struct {
	// patch is the patch document: a partial object for a strategic merge
	// patch, or a list of JSON 6902 operations.
	// +required
	Patch string `json:"patch"`

	// target selects the objects to patch; without it a strategic merge
	// patch applies to the object it names.
	// +optional
	Target *Selector `json:"target,omitempty"`
}

// Selector picks objects of the build output (a Kustomization's, or a Helm
// release's manifests); an object must match every field that is set.
type Selector struct {
	// group of the objects' API.
	// +optional
	Group string `json:"group,omitempty"`

	// version of the objects' API.
	// +optional
	Version string `json:"version,omitempty"`

	// kind of the objects.
	// +optional
	Kind string `json:"kind,omitempty"`

	// namespace of the objects.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// name of the objects; kustomize reads it as a regular expression.
	// +optional
	Name string `json:"name,omitempty"`

	// annotationSelector is a label selector expression matched against the
	// objects' annotations.
	// +optional
	AnnotationSelector string `json:"annotationSelector,omitempty"`

	// labelSelector is a label selector expression matched against the
	// objects' labels.
	// +optional
	LabelSelector string `json:"labelSelector,omitempty"`
}

// Image rewrites the name, tag or digest of a container image wherever the
// build output uses it, like the images field of a kustomization.yaml.
type Image struct {
	// name of the image to rewrite, without tag or digest.
	// +required
	Name string `json:"name"`

	// newName replaces the image name.
	// +optional
	NewName string `json:"newName,omitempty"`

	// newTag replaces the image tag.
	// +optional
	NewTag string `json:"newTag,omitempty"`

	// digest replaces the tag with a digest; newTag is then ignored.
	// +optional
	Digest string `json:"digest,omitempty"`
}
