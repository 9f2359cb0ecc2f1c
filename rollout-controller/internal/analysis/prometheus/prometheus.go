// Package prometheus measures a metric with a Prometheus instant query,
// through Prometheus' own client (client_golang/api), and turns the answer
// into the value Argo Rollouts reports and the result its conditions see:
// a scalar is a float64 ("0.5"), a vector a []float64 ("[0.5,0.7]", "[]"
// when no series matched). Other kinds of answer (a matrix, a string) are
// an error, as in Argo Rollouts.
package prometheus

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
)

// DefaultTimeout bounds a query without spec.timeout, as Argo Rollouts
// does.
const DefaultTimeout = 30 * time.Second

// Query runs m's query at now and returns the measured value as text and
// the result the metric's conditions are evaluated over. An unreachable
// server, a refused query or an answer of an unsupported kind is an error
// that says so.
func Query(ctx context.Context, m *v1alpha1.PrometheusMetric, now time.Time) (string, any, error) {
	if u, err := url.Parse(m.Address); err != nil || u.Scheme == "" || u.Host == "" {
		return "", nil, fmt.Errorf("prometheus address %q is not a URL", m.Address)
	}
	client, err := api.NewClient(api.Config{Address: m.Address})
	if err != nil {
		return "", nil, fmt.Errorf("prometheus client: %w", err)
	}
	timeout := DefaultTimeout
	if m.Timeout != nil {
		timeout = time.Duration(*m.Timeout) * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	answer, _, err := promv1.NewAPI(client).Query(ctx, m.Query, now, promv1.WithTimeout(timeout))
	if err != nil {
		return "", nil, fmt.Errorf("prometheus query failed: %w", err)
	}
	return Result(answer)
}

// Result converts a query's answer to the value text and the result.
func Result(answer model.Value) (string, any, error) {
	switch v := answer.(type) {
	case *model.Scalar:
		return v.Value.String(), float64(v.Value), nil
	case model.Vector:
		results := make([]float64, 0, len(v))
		texts := make([]string, 0, len(v))
		for _, s := range v {
			if s == nil {
				continue
			}
			results = append(results, float64(s.Value))
			texts = append(texts, s.Value.String())
		}
		return "[" + strings.Join(texts, ",") + "]", results, nil
	case nil:
		return "", nil, fmt.Errorf("prometheus returned no result")
	default:
		return "", nil, fmt.Errorf("prometheus result of type %s is not supported: use a query that returns a scalar or an instant vector", answer.Type())
	}
}
