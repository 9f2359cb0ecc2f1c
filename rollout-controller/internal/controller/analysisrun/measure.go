package analysisrun

import (
	"context"
	"errors"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/rollout-controller/internal/analysis/condition"
	"github.com/ferrycd/ferry/rollout-controller/internal/analysis/prometheus"
	"github.com/ferrycd/ferry/rollout-controller/internal/analysis/web"
)

// measure takes one measurement of m: asks its provider, then judges the
// result by the metric's conditions. A provider that fails, or a condition
// that cannot be evaluated, is an Error measurement with the cause as its
// message (and the value, when there was one).
func (r *Reconciler) measure(ctx context.Context, m metric) v1alpha1.Measurement {
	meas := v1alpha1.Measurement{StartedAt: metaTime(r.now())}
	value, res, err := r.query(ctx, m)
	if err == nil {
		meas.Phase, err = condition.Assess(m.SuccessCondition, m.FailureCondition, res)
	}
	meas.Value = value
	if err != nil {
		meas.Phase = v1alpha1.AnalysisPhaseError
		meas.Message = err.Error()
	}
	meas.FinishedAt = metaTime(r.now())
	return meas
}

// query asks the metric's provider for its value.
func (r *Reconciler) query(ctx context.Context, m metric) (string, any, error) {
	switch {
	case m.Provider.Prometheus != nil:
		return prometheus.Query(ctx, m.Provider.Prometheus, r.now())
	case m.Provider.Web != nil:
		return web.Get(ctx, r.HTTPClient, m.Provider.Web)
	}
	return "", nil, errors.New("the metric has no provider: set provider.prometheus or provider.web")
}
