// Package condition judges a measurement by a metric's successCondition
// and failureCondition.
//
// The conditions are expressions of github.com/expr-lang/expr, the
// language Argo Rollouts evaluates them in, with the same environment:
// `result` is the measured value (a float64 for a Prometheus scalar, a
// []float64 for a vector, the decoded JSON for a web metric) and the
// helpers asInt, asFloat, isNaN, isInf, isNil and default are defined as
// Argo's are. So the conditions in Argo Rollouts' documentation and in the
// AnalysisTemplates teams already have (`result[0] < 0.05`,
// `len(result) > 0`, `result == true`, `default(result, 0) > 1`) mean here
// what they mean there. A hand-written evaluator would differ from Argo's
// in operators, precedence and coercions, which users would only find out
// when a rollout is judged wrongly.
package condition

import (
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/expr-lang/expr"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
)

// Assess decides a measurement from its result, as Argo Rollouts does:
// without conditions every measurement succeeds; with only a success
// condition one that does not hold fails; with only a failure condition
// one that does not hold succeeds; with both, a measurement that meets
// neither is inconclusive, and the failure condition wins when both hold.
// An expression that does not compile, cannot be evaluated on result or
// does not give a bool is an error.
func Assess(successCondition, failureCondition string, result any) (v1alpha1.AnalysisPhase, error) {
	var success, failure bool
	var err error
	if successCondition != "" {
		if success, err = Eval(successCondition, result); err != nil {
			return v1alpha1.AnalysisPhaseError, fmt.Errorf("successCondition: %w", err)
		}
	}
	if failureCondition != "" {
		if failure, err = Eval(failureCondition, result); err != nil {
			return v1alpha1.AnalysisPhaseError, fmt.Errorf("failureCondition: %w", err)
		}
	}
	switch {
	case successCondition == "" && failureCondition == "":
		return v1alpha1.AnalysisPhaseSuccessful, nil
	case failureCondition == "":
		failure = !success
	case successCondition == "":
		success = !failure
	}
	switch {
	case failure:
		return v1alpha1.AnalysisPhaseFailed, nil
	case success:
		return v1alpha1.AnalysisPhaseSuccessful, nil
	default:
		return v1alpha1.AnalysisPhaseInconclusive, nil
	}
}

// Eval evaluates one condition over result.
func Eval(condition string, result any) (bool, error) {
	env := environment(result)
	program, err := expr.Compile(condition, expr.Env(env), expr.AsBool())
	if err != nil {
		return false, err
	}
	out, err := expr.Run(program, env)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("expected bool, but got %T", out)
	}
	return b, nil
}

// environment is what a condition sees: result and Argo's helpers.
func environment(result any) map[string]any {
	return map[string]any{
		"result":  result,
		"asInt":   asInt,
		"asFloat": asFloat,
		"isNaN":   math.IsNaN,
		"isInf":   func(f float64) bool { return math.IsInf(f, 0) },
		"isNil":   isNil,
		"default": func(value, fallback any) any {
			if isNil(value) {
				return fallback
			}
			return value
		},
	}
}

// asInt converts a measured value (a number, or the text a web metric
// returns) to an int64.
func asInt(in any) (int64, error) {
	switch v := in.(type) {
	case string:
		return strconv.ParseInt(v, 10, 64)
	case float64:
		return int64(v), nil
	case int:
		return int64(v), nil
	case int64:
		return v, nil
	}
	return 0, fmt.Errorf("asInt: cannot convert %T", in)
}

// asFloat converts a measured value to a float64.
func asFloat(in any) (float64, error) {
	switch v := in.(type) {
	case string:
		return strconv.ParseFloat(v, 64)
	case float64:
		return v, nil
	case int:
		return float64(v), nil
	case int64:
		return float64(v), nil
	}
	return 0, fmt.Errorf("asFloat: cannot convert %T", in)
}

// isNil reports a nil value or a nil pointer, map or slice inside one.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		return rv.IsNil()
	}
	return false
}
