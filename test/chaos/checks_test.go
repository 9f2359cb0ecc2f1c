package chaos

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/test/chaos/workload"
	"github.com/ferrycd/ferry/test/suite"
)

// TestChecksCatchDamage proves the checks can fail: with one Kustomization
// suspended (so nothing heals behind the test's back), a ConfigMap Git holds
// is deleted and another is edited by hand. The checks must count the lost
// object, the wrong deletion, the drift and the inventory that no longer
// matches its objects; resuming the Kustomization then repairs it all.
func TestChecksCatchDamage(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	c := testCluster.Client
	ks := &kustomizev1.Kustomization{}
	ks.Name, ks.Namespace = "ks-1", wl.Namespace()
	suite.Edit(t, c, ks, func(k *kustomizev1.Kustomization) { k.Spec.Suspend = true }, 30*time.Second)
	// Resumed whatever happens, or every later scenario would wait on it.
	t.Cleanup(func() {
		suite.Edit(t, c, ks, func(k *kustomizev1.Kustomization) { k.Spec.Suspend = false }, 30*time.Second)
	})
	// The damage must wait until the controller has seen the suspension: a
	// reconcile from a cache that does not have it yet would heal the
	// damage before the checks look.
	g.Eventually(func() (string, error) {
		return suspendStatus(ks.Namespace, ks.Name)
	}, convergeTimeout, 200*time.Millisecond).Should(Equal("1"), "the kustomize-controller should report ks-1 suspended")

	lost := &corev1.ConfigMap{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: wl.Namespace(), Name: "ks-1-a"}, lost)).To(Succeed())
	g.Expect(c.Delete(ctx, lost)).To(Succeed())
	edited := &corev1.ConfigMap{}
	edited.Name, edited.Namespace = "ks-1-b", wl.Namespace()
	suite.Edit(t, c, edited, func(cm *corev1.ConfigMap) { cm.Data["gen"] = "by hand" }, 30*time.Second)

	var r workload.Report
	wrong := 0
	g.Eventually(func(g Gomega) {
		var err error
		r, err = wl.Check(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		wrong += r.WrongPrunes
		g.Expect(wrong).To(Equal(1), "the watch should see the deletion")
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
	g.Expect(r.ObjectsLost).To(Equal(1), "%v", r.Problems)
	g.Expect(r.Drifted).To(Equal(1), "%v", r.Problems)
	g.Expect(r.InventoryMismatches).To(BeNumerically(">=", 1), "%v", r.Problems)
	g.Expect(r.OK()).To(BeFalse())
	t.Logf("the checks found: %s: %v", r, r.Problems)

	suite.Edit(t, c, ks, func(k *kustomizev1.Kustomization) { k.Spec.Suspend = false }, 30*time.Second)
	start := time.Now()
	_, err := workload.RequestReconcile(ctx, c, ks)
	g.Expect(err).NotTo(HaveOccurred())
	finish(t, "checks catch damage (1 deleted, 1 edited by hand, then repaired)", start,
		fmt.Sprintf("found lost=%d wrongPrunes=%d drifted=%d inventoryMismatches=%d before the repair", r.ObjectsLost, wrong, r.Drifted, r.InventoryMismatches))
}

// suspendStatus is the kustomize-controller's gotk_suspend_status gauge for
// the Kustomization, as its metrics endpoint serves it.
func suspendStatus(ns, name string) (string, error) {
	body, err := download("http://" + fleet.procs["kustomize-controller"].MetricsAddr + "/metrics")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "gotk_suspend_status{") && strings.Contains(line, `kind="Kustomization"`) &&
			strings.Contains(line, `name="`+name+`"`) && strings.Contains(line, `namespace="`+ns+`"`) {
			return line[strings.LastIndex(line, " ")+1:], nil
		}
	}
	return "", nil
}
