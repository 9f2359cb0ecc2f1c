package helmrelease

import (
	"testing"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

// TestChartArtifactReady is the table of the chart source events that wake
// a HelmRelease waiting on its chart.
func TestChartArtifactReady(t *testing.T) {
	v1 := &fluxmeta.Artifact{Revision: "1.0.0", Digest: "sha256:1"}
	v2 := &fluxmeta.Artifact{Revision: "1.1.0", Digest: "sha256:2"}
	chart := func(generation, observed int64, a *fluxmeta.Artifact) *sourcev1.HelmChart {
		return &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Generation: generation},
			Status: sourcev1.HelmChartStatus{ObservedGeneration: observed, Artifact: a}}
	}
	failed := func(c *sourcev1.HelmChart, msg string) *sourcev1.HelmChart {
		c.Status.Conditions = []metav1.Condition{{Type: fluxmeta.ReadyCondition, Status: metav1.ConditionFalse, Message: msg}}
		return c
	}
	tests := []struct {
		name     string
		old, new client.Object
		want     bool
	}{
		{name: "first artifact", old: chart(1, 0, nil), new: chart(1, 1, v1), want: true},
		{name: "new artifact", old: chart(1, 1, v1), new: chart(1, 1, v2), want: true},
		{name: "same artifact, other status", old: chart(1, 1, v1), new: chart(1, 1, v1.DeepCopy())},
		{name: "new spec, artifact not yet for it", old: chart(1, 1, v1), new: chart(2, 1, v1)},
		{name: "same artifact, now for the new spec", old: chart(2, 1, v1), new: chart(2, 2, v1), want: true},
		{name: "new artifact for an old spec", old: chart(2, 1, v1), new: chart(2, 1, v2)},
		{name: "artifact dropped", old: chart(1, 1, v1), new: chart(1, 1, nil)},
		{name: "no artifact, failed", old: chart(1, 0, nil), new: failed(chart(1, 1, nil), "too big"), want: true},
		{name: "no artifact, failed for another reason", old: failed(chart(1, 1, nil), "too big"),
			new: failed(chart(1, 1, nil), "not found"), want: true},
		{name: "no artifact, failed again for the same reason", old: failed(chart(1, 1, nil), "too big"),
			new: failed(chart(1, 1, nil), "too big")},
		{name: "failed, the last artifact kept", old: chart(1, 1, v1), new: failed(chart(1, 1, v1), "too big")},
		{name: "OCIRepository", old: &sourcev1.OCIRepository{},
			new: &sourcev1.OCIRepository{Status: sourcev1.OCIRepositoryStatus{Artifact: v1}}, want: true},
		{name: "ExternalArtifact", old: &sourcev1.ExternalArtifact{},
			new: &sourcev1.ExternalArtifact{Status: sourcev1.ExternalArtifactStatus{Artifact: v1}}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(chartArtifactReady{}.Update(event.UpdateEvent{ObjectOld: tt.old, ObjectNew: tt.new})).To(Equal(tt.want))
		})
	}
	g := NewWithT(t)
	g.Expect(chartArtifactReady{}.Create(event.CreateEvent{Object: chart(1, 1, v1)})).To(BeTrue(), "seen first with an artifact")
	g.Expect(chartArtifactReady{}.Create(event.CreateEvent{Object: chart(1, 0, nil)})).To(BeFalse())
	g.Expect(chartArtifactReady{}.Delete(event.DeleteEvent{Object: chart(1, 1, v1)})).To(BeFalse())
}
