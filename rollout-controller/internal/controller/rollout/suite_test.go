package rollout

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/pkg/outcome"
	"github.com/ferrycd/ferry/rollout-controller/internal/controller/analysisrun"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/suite"
)

var env *cluster.Cluster

// timeout bounds every wait for pods: on the kwok node a pod is Ready
// about a second after it is created.
const timeout = 60 * time.Second

// TestMain starts one full-mode cluster (ReplicaSets create pods that
// become Ready on the kwok node), the Rollout reconciler and the
// AnalysisRun reconciler.
func TestMain(m *testing.M) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	opts := suite.Options{Mode: cluster.Full, Scheme: scheme, Controller: "rollout-controller", NoRateLimit: true}
	os.Exit(suite.Run(m, opts, func(e *suite.Env) error {
		env = e.Cluster
		r := &Reconciler{
			Client:    e.Manager.GetClient(),
			APIReader: e.Manager.GetAPIReader(),
			Finisher:  outcome.Finisher{Scheme: scheme, Recorder: e.Recorder, OwnedConditions: OwnedConditions},
		}
		r.Analysis = &Analysis{Client: r.Client, APIReader: r.APIReader, Finisher: &r.Finisher}
		// The AnalysisRun reconciler measures the runs the rollouts create.
		ar := &analysisrun.Reconciler{
			Client:    e.Manager.GetClient(),
			APIReader: e.Manager.GetAPIReader(),
			Finisher:  outcome.Finisher{Scheme: scheme, Recorder: e.Recorder, OwnedConditions: analysisrun.OwnedConditions},
		}
		if err := ar.SetupWithManager(e.Ctx, e.Manager); err != nil {
			return err
		}
		return r.SetupWithManager(e.Ctx, e.Manager)
	}))
}

// podTemplate is a one-container template labelled app=<app>.
func podTemplate(app, image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: app, Image: image}}},
	}
}

// rolloutOpt changes a test Rollout.
type rolloutOpt func(*v1alpha1.Rollout)

// newRollout is a Rollout of app with an inline template and replicas.
func newRollout(ns, name string, replicas int32, image string, opts ...rolloutOpt) *v1alpha1.Rollout {
	tmpl := podTemplate(name, image)
	ro := &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: &tmpl,
		},
	}
	for _, o := range opts {
		o(ro)
	}
	return ro
}

// getRollout reads the Rollout at key.
func getRollout(g Gomega, key client.ObjectKey) *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{}
	g.Expect(env.Client.Get(context.Background(), key, ro)).To(Succeed())
	return ro
}

// expectHealthy waits for the rollout to be Healthy with replicas pods of
// one ReplicaSet available, and returns the rollout and that ReplicaSet.
func expectHealthy(t *testing.T, ro *v1alpha1.Rollout, replicas int32) (*v1alpha1.Rollout, *appsv1.ReplicaSet) {
	t.Helper()
	var got *v1alpha1.Rollout
	var rs *appsv1.ReplicaSet
	NewWithT(t).Eventually(func(g Gomega) {
		got, rs = expectHealthyG(g, ro, replicas)
	}, timeout, 200*time.Millisecond).Should(Succeed())
	return got, rs
}

// expectHealthyG checks once that the rollout is Healthy and Ready with
// replicas pods of its current ReplicaSet available.
func expectHealthyG(g Gomega, ro *v1alpha1.Rollout, replicas int32) (*v1alpha1.Rollout, *appsv1.ReplicaSet) {
	got := getRollout(g, client.ObjectKeyFromObject(ro))
	g.Expect(got.Status.Phase).To(Equal(v1alpha1.RolloutPhaseHealthy), "message: %s", got.Status.Message)
	g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
	g.Expect(got.Status.Replicas).To(Equal(replicas))
	g.Expect(got.Status.UpdatedReplicas).To(Equal(replicas))
	g.Expect(got.Status.ReadyReplicas).To(Equal(replicas))
	g.Expect(got.Status.AvailableReplicas).To(Equal(replicas))
	g.Expect(got.Status.StableRS).To(Equal(got.Status.CurrentPodHash))
	ready := conditions.Get(got, meta.ReadyCondition)
	g.Expect(ready).NotTo(BeNil())
	g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
	g.Expect(ready.Reason).To(Equal(HealthyReason))
	g.Expect(conditions.Has(got, meta.ReconcilingCondition)).To(BeFalse())
	rs := replicaSetOf(g, got, got.Status.CurrentPodHash)
	g.Expect(rs.Status.AvailableReplicas).To(Equal(replicas))
	return got, rs
}

// replicaSetOf reads the rollout's ReplicaSet of a pod-template hash.
func replicaSetOf(g Gomega, ro *v1alpha1.Rollout, hash string) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{}
	g.Expect(env.Client.Get(context.Background(),
		client.ObjectKey{Namespace: ro.Namespace, Name: fmt.Sprintf("%s-%s", ro.Name, hash)}, rs)).To(Succeed())
	g.Expect(metav1.IsControlledBy(rs, ro)).To(BeTrue())
	return rs
}
