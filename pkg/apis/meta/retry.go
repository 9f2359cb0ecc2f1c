package meta

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// RetryPolicy is Argo CD's retry policy, with its field names: after a
// failed reconcile, retry number n (from 0) waits
// min(maxDuration, duration × factor^n). Kustomizations and HelmReleases
// share it, so both kinds back off alike.
type RetryPolicy struct {
	// limit is how many times a failed reconcile is retried; a negative
	// limit retries without end, 0 not at all. Once the limit is used up,
	// the object waits for its next interval, a new revision or a spec
	// change.
	// +optional
	Limit int64 `json:"limit,omitempty"`

	// backoff says how long to wait between retries.
	// +optional
	Backoff *Backoff `json:"backoff,omitempty"`
}

// Backoff is the wait between retries, growing by factor each time.
type Backoff struct {
	// duration is the wait before the first retry; defaults to 5s.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Duration *metav1.Duration `json:"duration,omitempty"`

	// factor multiplies the wait after each retry; defaults to 2.
	// +kubebuilder:validation:Minimum=1
	// +optional
	Factor *int64 `json:"factor,omitempty"`

	// maxDuration caps the wait; defaults to 3m.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	MaxDuration *metav1.Duration `json:"maxDuration,omitempty"`
}

// RetryStatus counts the retries of a failing object, so that the backoff
// survives a controller restart and users see when the next attempt is due.
type RetryStatus struct {
	// retries is how many retries were scheduled since the last success, the
	// last new revision or the last spec change.
	// +optional
	Retries int64 `json:"retries,omitempty"`

	// nextRetryAt is when the next attempt is due; unset after a success and
	// once the retry limit is used up.
	// +optional
	NextRetryAt *metav1.Time `json:"nextRetryAt,omitempty"`

	// retriedRevision is the revision the retries count for; a new one
	// starts the count again.
	// +optional
	RetriedRevision string `json:"retriedRevision,omitempty"`

	// retriedGeneration is the generation the retries count for; a spec
	// change starts the count again.
	// +optional
	RetriedGeneration int64 `json:"retriedGeneration,omitempty"`
}
