package sourceverify

import (
	"testing"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

func TestNeeded(t *testing.T) {
	const msg = "verified signature of revision v1@sha256:aa"
	spec := &sourcev1.OCIRepositoryVerification{Provider: "cosign", SecretRef: fluxmeta.LocalObjectReference{Name: "keys"}}
	verified := func(status metav1.ConditionStatus, generation int64, message string) []metav1.Condition {
		return []metav1.Condition{{Type: sourcev1.SourceVerifiedCondition, Status: status, ObservedGeneration: generation,
			Reason: fluxmeta.SucceededReason, Message: message}}
	}
	tests := []struct {
		name       string
		spec       *sourcev1.OCIRepositoryVerification
		upToDate   bool
		conditions []metav1.Condition
		want       bool
		kept       bool
	}{
		{"no spec.verify drops the condition", nil, true, verified("True", 2, msg), false, false},
		{"a new artifact", spec, false, verified("True", 2, msg), true, true},
		{"never verified", spec, true, nil, true, false},
		{"verified at this generation", spec, true, verified("True", 2, msg), false, true},
		{"verified at an older generation", spec, true, verified("True", 1, msg), true, true},
		{"a verified other revision", spec, true, verified("True", 2, "verified signature of revision v1@sha256:bb"), true, true},
		{"refused before", spec, true, verified("False", 2, msg), true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			obj := &sourcev1.OCIRepository{ObjectMeta: metav1.ObjectMeta{Generation: 2}}
			obj.Status.Conditions = tt.conditions
			g.Expect(Needed(obj, tt.spec, tt.upToDate, msg)).To(Equal(tt.want))
			g.Expect(conditions.Has(obj, sourcev1.SourceVerifiedCondition)).To(Equal(tt.kept))
		})
	}
}
