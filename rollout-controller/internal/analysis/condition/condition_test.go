package condition

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
)

// TestAssess: the conditions of Argo Rollouts' documentation judge the
// results the providers give (a Prometheus vector or scalar, decoded JSON)
// as Argo does, including the rules for a missing condition.
func TestAssess(t *testing.T) {
	var doc any
	if err := json.Unmarshal([]byte(`{"ok": true, "rate": 0.97, "items": [1, 2]}`), &doc); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name             string
		success, failure string
		result           any
		want             v1alpha1.AnalysisPhase
		wantErr          bool
	}{
		{name: "vector below threshold succeeds", success: "result[0] < 0.05", result: []float64{0.01}, want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "vector above threshold fails without a failure condition", success: "result[0] < 0.05", result: []float64{0.31}, want: v1alpha1.AnalysisPhaseFailed},
		{name: "scalar", success: "result > 0.9", result: 0.95, want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "empty vector with len", success: "len(result) > 0", result: []float64{}, want: v1alpha1.AnalysisPhaseFailed},
		{name: "empty vector indexed is an error", success: "result[0] < 0.05", result: []float64{}, want: v1alpha1.AnalysisPhaseError, wantErr: true},
		{name: "only a failure condition that does not hold succeeds", failure: "result[0] >= 0.05", result: []float64{0.01}, want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "only a failure condition that holds fails", failure: "result[0] >= 0.05", result: []float64{0.2}, want: v1alpha1.AnalysisPhaseFailed},
		{name: "neither of two conditions is inconclusive", success: "result[0] < 0.05", failure: "result[0] > 0.1", result: []float64{0.07}, want: v1alpha1.AnalysisPhaseInconclusive},
		{name: "failure wins when both hold", success: "result[0] > 0", failure: "result[0] > 0.1", result: []float64{0.2}, want: v1alpha1.AnalysisPhaseFailed},
		{name: "no conditions succeed", result: []float64{1}, want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "json field", success: "result.ok == true && result.rate > 0.9", result: doc, want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "json list", success: "len(result.items) == 2", result: doc, want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "asFloat of text", success: "asFloat(result) > 0.5", result: "0.75", want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "asInt of text", success: "asInt(result) == 3", result: "3", want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "isNaN", failure: "isNaN(result)", result: math.NaN(), want: v1alpha1.AnalysisPhaseFailed},
		{name: "isInf", failure: "isInf(result)", result: math.Inf(1), want: v1alpha1.AnalysisPhaseFailed},
		{name: "default of nil", success: "default(result, 0) == 0", result: nil, want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "isNil", success: "isNil(result)", result: nil, want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "not a bool", success: "result[0]", result: []float64{1}, want: v1alpha1.AnalysisPhaseError, wantErr: true},
		{name: "syntax error", success: "result[0] <", result: []float64{1}, want: v1alpha1.AnalysisPhaseError, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Assess(tc.success, tc.failure, tc.result)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Fatalf("phase = %s, want %s", got, tc.want)
			}
		})
	}
}
