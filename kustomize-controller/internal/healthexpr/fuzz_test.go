// Package healthexpr fuzzes the CEL health expressions of a Kustomization's
// spec.healthCheckExprs. The controller builds them with fluxcel (see
// healthPoller in internal/controller/kustomization); the fuzz target lives
// in a package of its own because the controller package's tests start an
// API server, which every fuzz worker would start again.
package healthexpr

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	fluxkustomize "github.com/fluxcd/pkg/apis/kustomize"
	fluxcel "github.com/fluxcd/pkg/runtime/cel"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// FuzzHealthExpressions builds an evaluator from arbitrary current, failed
// and inProgress expressions, as the controller does from a user's spec,
// and evaluates it on an arbitrary object. A user's expression and a
// cluster object are both untrusted: nothing may panic, an expression is
// either refused when it is built or evaluates to one of the three health
// states or an error, and the evaluation stops when its context ends (the
// controller's health timeout), so a costly expression cannot run on. The
// seed corpus is in testdata/fuzz.
func FuzzHealthExpressions(f *testing.F) {
	f.Add(`status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True')`,
		`status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'False')`,
		`has(status.phase) && status.phase == 'Pending'`,
		[]byte(`{"apiVersion":"example.org/v1","kind":"Thing","metadata":{"generation":2},"status":{"observedGeneration":2,"conditions":[{"type":"Ready","status":"True"}]}}`))
	f.Add(`status.x`, ``, ``, []byte(`{"status":{"x":"yes"}}`))
	f.Add(`[1,2,3].map(a, [1,2,3].map(b, [1,2,3].map(c, a*b*c))).size() > 0`, `1/0 == 1`, `{}`, []byte(`{}`))

	f.Fuzz(func(t *testing.T, current, failed, inProgress string, object []byte) {
		ev, err := fluxcel.NewStatusEvaluator(&fluxkustomize.HealthCheckExpressions{
			Current: current, Failed: failed, InProgress: inProgress,
		})
		if err != nil {
			return
		}
		content := map[string]any{}
		if json.Unmarshal(object, &content) != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		res, err := ev.Evaluate(ctx, &unstructured.Unstructured{Object: content})
		if elapsed := time.Since(start); elapsed > 10*time.Second {
			t.Fatalf("evaluation ran %s past its context", elapsed)
		}
		if err != nil {
			return
		}
		switch res.Status {
		case status.CurrentStatus, status.FailedStatus, status.InProgressStatus:
		default:
			t.Fatalf("evaluation gave status %q", res.Status)
		}
	})
}
