package analysisrun

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
)

// Argo Rollouts' defaults.
const (
	// defaultConsecutiveErrorLimit is how many errors in a row a metric
	// tolerates without consecutiveErrorLimit.
	defaultConsecutiveErrorLimit = 4
	// errorRetryInterval is how soon a measurement that erred is taken
	// again when the metric has no interval.
	errorRetryInterval = 10 * time.Second
	// measurementHistoryLimit is how many measurements a metric keeps in
	// status; the counters keep counting beyond it.
	measurementHistoryLimit = 10
)

// metric is a metric of a run with its arguments substituted and its
// durations and limits read.
type metric struct {
	v1alpha1.Metric
	interval     time.Duration
	initialDelay time.Duration
	// count is the number of measurements to take; nil: until the run
	// ends.
	count                 *int32
	failureLimit          int32
	inconclusiveLimit     int32
	consecutiveErrorLimit int32
}

// argRef is a reference to an argument: {{args.NAME}}, spaces allowed
// inside the braces.
var argRef = regexp.MustCompile(`\{\{\s*args\.([^{}\s]+)\s*\}\}`)

// resolve substitutes the run's arguments into its metrics and reads their
// durations and limits. An argument without a value, a reference to an
// argument the run does not have and a limit that is not a number are
// errors: a run cannot measure what it cannot name.
func resolve(run *v1alpha1.AnalysisRun) ([]metric, error) {
	args := make(map[string]string, len(run.Spec.Args))
	for _, a := range run.Spec.Args {
		if a.Value == nil {
			return nil, fmt.Errorf("argument %q has no value: the rollout must give it (spec.strategy...analysis.args) or the template a default", a.Name)
		}
		args[a.Name] = *a.Value
	}
	out := make([]metric, 0, len(run.Spec.Metrics))
	for _, m := range run.Spec.Metrics {
		rm, err := resolveMetric(m, args)
		if err != nil {
			return nil, fmt.Errorf("metric %q: %w", m.Name, err)
		}
		out = append(out, rm)
	}
	return out, nil
}

func resolveMetric(m v1alpha1.Metric, args map[string]string) (metric, error) {
	r := &resolver{args: args}
	m = *m.DeepCopy()
	r.sub(&m.SuccessCondition)
	r.sub(&m.FailureCondition)
	if p := m.Provider.Prometheus; p != nil {
		r.sub(&p.Address)
		r.sub(&p.Query)
	}
	if w := m.Provider.Web; w != nil {
		r.sub(&w.URL)
		r.sub(&w.Body)
		r.sub(&w.JSONPath)
		for i := range w.Headers {
			r.sub(&w.Headers[i].Key)
			r.sub(&w.Headers[i].Value)
		}
	}
	out := metric{Metric: m}
	var err error
	if out.interval, err = duration(m.Interval); err != nil {
		return metric{}, fmt.Errorf("interval: %w", err)
	}
	if out.initialDelay, err = duration(m.InitialDelay); err != nil {
		return metric{}, fmt.Errorf("initialDelay: %w", err)
	}
	count, err := r.number("count", m.Count, 0)
	if err != nil {
		return metric{}, err
	}
	// Argo Rollouts' effective count: without a count (or with 0) a metric
	// without interval is measured once, one with an interval until the
	// run ends.
	switch {
	case count > 0:
		out.count = &count
	case m.Interval == "":
		one := int32(1)
		out.count = &one
	}
	if out.failureLimit, err = r.number("failureLimit", m.FailureLimit, 0); err != nil {
		return metric{}, err
	}
	if out.inconclusiveLimit, err = r.number("inconclusiveLimit", m.InconclusiveLimit, 0); err != nil {
		return metric{}, err
	}
	if out.consecutiveErrorLimit, err = r.number("consecutiveErrorLimit", m.ConsecutiveErrorLimit, defaultConsecutiveErrorLimit); err != nil {
		return metric{}, err
	}
	return out, r.err
}

// resolver substitutes arguments and keeps the first error.
type resolver struct {
	args map[string]string
	err  error
}

func (r *resolver) sub(s *string) {
	if !strings.Contains(*s, "{{") {
		return
	}
	*s = argRef.ReplaceAllStringFunc(*s, func(ref string) string {
		name := argRef.FindStringSubmatch(ref)[1]
		v, ok := r.args[name]
		if !ok && r.err == nil {
			r.err = fmt.Errorf("%s: the run has no argument %q", ref, name)
		}
		return v
	})
}

// number reads an int-or-string limit (a string may be an argument
// reference, "{{args.limit}}"), def when unset.
func (r *resolver) number(field string, v *intstr.IntOrString, def int32) (int32, error) {
	if v == nil {
		return def, nil
	}
	if v.Type == intstr.Int {
		return v.IntVal, nil
	}
	s := v.StrVal
	r.sub(&s)
	if r.err != nil {
		return 0, r.err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a number", field, v.StrVal)
	}
	return int32(n), nil
}

// duration parses a DurationString; empty is zero.
func duration(d v1alpha1.DurationString) (time.Duration, error) {
	if d == "" {
		return 0, nil
	}
	return time.ParseDuration(string(d))
}
