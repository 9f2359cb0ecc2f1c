package helmrelease

import (
	"testing"

	. "github.com/onsi/gomega"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

// TestHelmChartCreatedWithSourceFinalizer checks that the HelmChart of
// spec.chart is created carrying the source-controller's finalizer, so
// that controller's first reconcile of it writes its status and nothing
// else (its side of the budget is held by the helmchart package's
// TestRequestBudget).
func TestHelmChartCreatedWithSourceFinalizer(t *testing.T) {
	ns := newNamespace(t)
	hr := newRelease(t, ns, "app", chartSpec)
	hc := waitHelmChart(t, hr)
	NewWithT(t).Expect(hc.Finalizers).To(ConsistOf(sourcev1.SourceFinalizer))
}
