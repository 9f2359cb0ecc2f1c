package v1

import (
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// DefaultTimeout bounds a single remote operation (clone, index fetch, pull)
// when spec.timeout is not set. The CRDs default timeout to the same value;
// this covers objects built in Go that skipped API server defaulting.
const DefaultTimeout = 60 * time.Second

// Source is implemented by every kind of this package, so consumers such as
// the kustomize- and helm-controller can wait for and fetch an artifact
// without knowing which kind produced it.
// +kubebuilder:object:generate=false
type Source interface {
	runtime.Object
	metav1.Object

	// GetRequeueAfter returns how long to wait before checking upstream
	// again.
	GetRequeueAfter() time.Duration

	// GetArtifact returns the last stored artifact, or nil if there is none.
	GetArtifact() *fluxmeta.Artifact
}

var (
	_ Source = (*GitRepository)(nil)
	_ Source = (*HelmRepository)(nil)
	_ Source = (*HelmChart)(nil)
	_ Source = (*OCIRepository)(nil)
	_ Source = (*ExternalArtifact)(nil)
)

// timeoutOrDefault returns d's duration, or DefaultTimeout when d is unset.
func timeoutOrDefault(d *metav1.Duration) time.Duration {
	if d == nil || d.Duration <= 0 {
		return DefaultTimeout
	}
	return d.Duration
}
