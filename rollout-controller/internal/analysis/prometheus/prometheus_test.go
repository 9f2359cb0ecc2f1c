package prometheus

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	promtest "github.com/ferrycd/ferry/test/prometheus"
)

// TestQuery: against the real Prometheus, a vector is a list of floats
// ("[0.31]"), a scalar a float ("0.31"), a selector that matches nothing
// an empty list ("[]"), and a bad query, a range vector and an unreachable
// server are errors that say what went wrong.
func TestQuery(t *testing.T) {
	g := NewWithT(t)
	prom := promtest.Start(t, promtest.Failing)
	ctx := context.Background()
	query := func(q string) (string, any, error) {
		return Query(ctx, &v1alpha1.PrometheusMetric{Address: prom.URL, Query: q, Timeout: ptr.To[int64](5)}, time.Now())
	}

	value, result, err := query(promtest.ErrorRateQuery)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(value).To(Equal("[0.31]"))
	g.Expect(result).To(Equal([]float64{0.31}))

	value, result, err = query("scalar(" + promtest.ErrorRateQuery + ")")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(value).To(Equal("0.31"))
	g.Expect(result).To(Equal(0.31))

	value, result, err = query(promtest.ErrorRate + `{service="none"}`)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(value).To(Equal("[]"))
	g.Expect(result).To(Equal([]float64{}))

	_, _, err = query("sum(")
	g.Expect(err).To(MatchError(ContainSubstring("prometheus query failed")))
	g.Expect(err).To(MatchError(ContainSubstring("parse error")))

	_, _, err = query(promtest.ErrorRateQuery + "[1m]")
	g.Expect(err).To(MatchError(ContainSubstring("result of type matrix is not supported")))

	_, _, err = Query(ctx, &v1alpha1.PrometheusMetric{Address: "http://127.0.0.1:1", Query: "up"}, time.Now())
	g.Expect(err).To(MatchError(ContainSubstring("connection refused")))

	_, _, err = Query(ctx, &v1alpha1.PrometheusMetric{Address: "prometheus:9090", Query: "up"}, time.Now())
	g.Expect(err).To(MatchError(ContainSubstring("is not a URL")))
}
