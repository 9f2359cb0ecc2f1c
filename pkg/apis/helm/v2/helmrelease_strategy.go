package v2

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ActionStrategyName says what the controller does when an install or
// upgrade fails.
type ActionStrategyName string

const (
	// ActionStrategyRemediateOnFailure applies the action's remediation
	// (uninstall after a failed install, rollback or uninstall after a
	// failed upgrade) and counts the failure against its retries. It is the
	// default.
	ActionStrategyRemediateOnFailure ActionStrategyName = "RemediateOnFailure"

	// ActionStrategyRetryOnFailure leaves the failed release as it is and
	// tries again with an upgrade every retryInterval, without remediating
	// and without a limit on attempts.
	ActionStrategyRetryOnFailure ActionStrategyName = "RetryOnFailure"
)

// DefaultRetryInterval is the wait between attempts of the RetryOnFailure
// strategy when retryInterval is unset, as in Flux.
const DefaultRetryInterval = 5 * time.Minute

// ActionStrategy is spec.install.strategy and spec.upgrade.strategy.
// +kubebuilder:validation:XValidation:rule="!has(self.retryInterval) || self.name == 'RetryOnFailure'",message="retryInterval can only be set with the RetryOnFailure strategy"
type ActionStrategy struct {
	// name is RemediateOnFailure (the default) or RetryOnFailure.
	// +kubebuilder:validation:Enum=RemediateOnFailure;RetryOnFailure
	// +required
	Name ActionStrategyName `json:"name"`

	// retryInterval is the wait between attempts of a failed action with
	// the RetryOnFailure strategy; defaults to 5m.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	RetryInterval *metav1.Duration `json:"retryInterval,omitempty"`
}

// GetRetryInterval returns retryInterval, or DefaultRetryInterval.
func (in ActionStrategy) GetRetryInterval() time.Duration {
	if in.RetryInterval == nil || in.RetryInterval.Duration <= 0 {
		return DefaultRetryInterval
	}
	return in.RetryInterval.Duration
}

// IsRetry reports whether the strategy is RetryOnFailure.
func (in *ActionStrategy) IsRetry() bool {
	return in != nil && in.Name == ActionStrategyRetryOnFailure
}

// GetActiveRetry returns the strategy of the last attempted release action
// when it is RetryOnFailure, and nil when the action's failures are
// remediated (or before any install or upgrade).
func (in *HelmRelease) GetActiveRetry() *ActionStrategy {
	var s *ActionStrategy
	switch in.Status.LastAttemptedReleaseAction {
	case ReleaseActionInstall:
		s = in.GetInstall().Strategy
	case ReleaseActionUpgrade:
		s = in.GetUpgrade().Strategy
	}
	if !s.IsRetry() {
		return nil
	}
	return s
}
