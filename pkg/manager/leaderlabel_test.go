package manager

import (
	"context"
	"testing"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

func pod(ns, name string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}}
}

// TestLeaderLabelMoves checks the one step of the labeler: the new leader's
// Pod gains the label, the former leader's loses it, and Pods of other
// controllers or namespaces keep theirs.
func TestLeaderLabelMoves(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	const ctrlName = "source-controller"
	c := fake.NewClientBuilder().WithObjects(
		pod("ferry", "old", map[string]string{LeaderLabel: ctrlName, "app": "x"}),
		pod("ferry", "new", map[string]string{"app": "x"}),
		pod("ferry", "other", map[string]string{LeaderLabel: "helm-controller"}),
		pod("elsewhere", "old", map[string]string{LeaderLabel: ctrlName}),
	).Build()
	l := &leaderLabeler{reader: c, writer: c, log: logr.Discard(), value: ctrlName,
		pod: types.NamespacedName{Namespace: "ferry", Name: "new"}}
	g.Expect(l.ensure(ctx)).To(Succeed())
	g.Expect(l.ensure(ctx)).To(Succeed(), "a second pass finds nothing to change")

	labels := func(ns, name string) map[string]string {
		p := &corev1.Pod{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, p)).To(Succeed())
		return p.Labels
	}
	g.Expect(labels("ferry", "new")).To(Equal(map[string]string{LeaderLabel: ctrlName, "app": "x"}))
	g.Expect(labels("ferry", "old")).To(Equal(map[string]string{"app": "x"}))
	g.Expect(labels("ferry", "other")).To(HaveKeyWithValue(LeaderLabel, "helm-controller"))
	g.Expect(labels("elsewhere", "old")).To(HaveKeyWithValue(LeaderLabel, ctrlName))
}

// TestLeaderLabelerNeedsThePod checks that a process outside a Pod (no
// downward API variables) runs no labeler, and that the labeler runs on the
// leader only.
func TestLeaderLabelerNeedsThePod(t *testing.T) {
	g := NewWithT(t)
	t.Setenv(podNameEnv, "")
	t.Setenv(podNamespaceEnv, "ferry")
	g.Expect(newLeaderLabeler(nil, nil, logr.Discard(), "x")).To(BeNil())
	t.Setenv(podNameEnv, "p")
	l := newLeaderLabeler(nil, nil, logr.Discard(), "x")
	g.Expect(l).NotTo(BeNil())
	g.Expect(l.NeedLeaderElection()).To(BeTrue())
	g.Expect(l.pod).To(Equal(types.NamespacedName{Namespace: "ferry", Name: "p"}))
}
