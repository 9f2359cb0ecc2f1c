package helmrelease

import (
	"context"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/patch"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
)

// TestProgressOnlyWhenLong checks that an action shorter than the progress
// delay writes no status of its own, and that a longer one shows on
// Reconciling while it runs. The HelmRelease is suspended so the running
// reconciler leaves its status alone.
func TestProgressOnlyWhenLong(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	hr := newRelease(t, ns, "app", func(hr *helmv2.HelmRelease) { hr.Spec.Suspend = true })
	waitFor(t, hr, func(g Gomega, hr *helmv2.HelmRelease) {
		g.Expect(controllerutil.ContainsFinalizer(hr, helmv2.HelmReleaseFinalizer)).To(BeTrue())
	})
	reconciling := func() string {
		cur := &helmv2.HelmRelease{}
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(hr), cur)).To(Succeed())
		if c := conditions.Get(cur, fluxmeta.ReconcilingCondition); c != nil {
			return c.Message
		}
		return ""
	}
	r := *reconciler
	s := &scope{obj: hr, patcher: patch.NewSerialPatcher(hr, env.Client)}

	r.ProgressDelay = time.Hour
	r.progress(ctx, s, "running 'install' action")()
	g.Expect(reconciling()).To(BeEmpty(), "a short action writes nothing")

	r.ProgressDelay = time.Millisecond
	done := r.progress(ctx, s, "running 'upgrade' action")
	g.Eventually(reconciling, timeout).Should(Equal("running 'upgrade' action"))
	done()
}
