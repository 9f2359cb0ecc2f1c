package controller

// The source-controller reads and updates its sources, reads the Secrets they
// name for credentials, records events and takes a lease for leader election.
// +kubebuilder:rbac:groups=source.toolkit.fluxcd.io,resources=gitrepositories;helmrepositories;helmcharts;ocirepositories,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=source.toolkit.fluxcd.io,resources=gitrepositories/status;helmrepositories/status;helmcharts/status;ocirepositories/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=source.toolkit.fluxcd.io,resources=gitrepositories/finalizers;helmrepositories/finalizers;helmcharts/finalizers;ocirepositories/finalizers,verbs=get;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// The leader labels its own Pod and unlabels the former leader's, in its
// own namespace only, so the Service routes artifact downloads to it.
// +kubebuilder:rbac:groups="",namespace=ferry-system,resources=pods,verbs=get;list;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete
