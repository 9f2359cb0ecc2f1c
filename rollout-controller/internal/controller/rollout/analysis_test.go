package rollout

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/test/suite"
)

// idleMetric is a web metric that is never measured while a test runs
// (its first measurement is an hour away), so the run it is in stays
// undecided whatever measures runs.
func idleMetric(name string) v1alpha1.Metric {
	return v1alpha1.Metric{Name: name, InitialDelay: "1h",
		Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "http://127.0.0.1:1/never"}}}
}

// arg is a template argument, without a value when value is nil.
func arg(name string, value *string) v1alpha1.Argument {
	return v1alpha1.Argument{Name: name, Value: value}
}

// newTemplate creates an AnalysisTemplate.
func newTemplate(t *testing.T, ns, name string, args []v1alpha1.Argument, metrics ...v1alpha1.Metric) {
	t.Helper()
	at := &v1alpha1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.AnalysisTemplateSpec{Args: args, Metrics: metrics}}
	NewWithT(t).Expect(env.Client.Create(ctx(), at)).To(Succeed())
}

// newClusterTemplate creates a ClusterAnalysisTemplate, deleted when the
// test ends.
func newClusterTemplate(t *testing.T, name string, args []v1alpha1.Argument, metrics ...v1alpha1.Metric) {
	t.Helper()
	cat := &v1alpha1.ClusterAnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.AnalysisTemplateSpec{Args: args, Metrics: metrics}}
	NewWithT(t).Expect(env.Client.Create(ctx(), cat)).To(Succeed())
	t.Cleanup(func() { _ = env.Client.Delete(ctx(), cat) })
}

// analysisStep is a canary step that runs the named templates (a name
// starting with "cluster:" names a ClusterAnalysisTemplate).
func analysisStep(args []v1alpha1.AnalysisRunArgument, templates ...string) v1alpha1.CanaryStep {
	return v1alpha1.CanaryStep{Analysis: &v1alpha1.RolloutAnalysis{Templates: templateRefs(templates), Args: args}}
}

func templateRefs(names []string) []v1alpha1.AnalysisTemplateRef {
	var refs []v1alpha1.AnalysisTemplateRef
	for _, n := range names {
		if c, ok := strings.CutPrefix(n, "cluster:"); ok {
			refs = append(refs, v1alpha1.AnalysisTemplateRef{TemplateName: c, ClusterScope: true})
			continue
		}
		refs = append(refs, v1alpha1.AnalysisTemplateRef{TemplateName: n})
	}
	return refs
}

// startRollout creates the rollout's Services and the rollout, waits for
// it to be healthy with both Services on its ReplicaSet, then sets the
// image web:2 and returns the stable hash.
func startRollout(t *testing.T, ro *v1alpha1.Rollout) string {
	t.Helper()
	newServices(t, ro)
	NewWithT(t).Expect(env.Client.Create(ctx(), ro)).To(Succeed())
	got, _ := expectHealthy(t, ro, ro.GetReplicas())
	stable := got.Status.StableRS
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(selectedHash(g, ro.Namespace, "web-stable")).To(Equal(stable))
		g.Expect(selectedHash(g, ro.Namespace, "web-canary")).To(Equal(stable))
	}, timeout).Should(Succeed())
	suite.Edit(t, env.Client, got, func(r *v1alpha1.Rollout) {
		r.Spec.Template.Spec.Containers[0].Image = "web:2"
	}, timeout)
	return stable
}

// stepRun waits for the rollout to record an AnalysisRun of this revision
// for step index, other than the runs named in not, and returns the
// rollout and that run. It does not wait for the rollout to be at the
// step: a run that fails at once aborts the rollout back to step 0, and
// the status goes on recording it.
func stepRun(t *testing.T, ro *v1alpha1.Rollout, index int32, not ...string) (*v1alpha1.Rollout, *v1alpha1.AnalysisRun) {
	t.Helper()
	var got *v1alpha1.Rollout
	run := &v1alpha1.AnalysisRun{}
	NewWithT(t).Eventually(func(g Gomega) {
		got = getRollout(g, client.ObjectKeyFromObject(ro))
		s := got.Status.Canary.CurrentStepAnalysisRunStatus
		g.Expect(s).NotTo(BeNil(), "phase %s: %s", got.Status.Phase, got.Status.Message)
		g.Expect(not).NotTo(ContainElement(s.Name))
		g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ro.Namespace, Name: s.Name}, run)).To(Succeed())
		g.Expect(run.Labels).To(HaveKeyWithValue(StepIndexLabel, fmt.Sprint(index)))
		g.Expect(run.Labels).To(HaveKeyWithValue(v1alpha1.DefaultRolloutUniqueLabelKey, got.Status.CurrentPodHash))
	}, timeout, 100*time.Millisecond).Should(Succeed())
	return got, run
}

// TestAnalysisRunFromTemplates: an analysis step creates one AnalysisRun,
// named and labelled as Argo Rollouts does, owned by the rollout, with the
// metrics of a namespaced and a cluster template side by side and every
// kind of argument resolved (a literal, a template default, the Stable and
// Latest hashes, fields of the rollout); the rollout holds at the step
// and records the run; moving past the step (promoteFull) terminates it.
func TestAnalysisRunFromTemplates(t *testing.T) {
	g := NewWithT(t)
	ns := suite.NewNamespace(t, env.Client, "analysis-create-")
	newTemplate(t, ns, "error-rate", []v1alpha1.Argument{
		arg("service-name", nil), arg("stable-hash", nil), arg("canary-hash", nil),
		arg("namespace", nil), arg("env", nil), arg("window", ptr.To("5m")),
	}, idleMetric("errors"))
	cluster := ns + "-latency"
	newClusterTemplate(t, cluster, []v1alpha1.Argument{arg("service-name", nil)}, idleMetric("latency"))

	stable, latest := v1alpha1.Stable, v1alpha1.Latest
	args := []v1alpha1.AnalysisRunArgument{
		{Name: "service-name", Value: "web-canary"},
		{Name: "stable-hash", ValueFrom: &v1alpha1.ArgumentValueFrom{PodTemplateHashValue: &stable}},
		{Name: "canary-hash", ValueFrom: &v1alpha1.ArgumentValueFrom{PodTemplateHashValue: &latest}},
		{Name: "namespace", ValueFrom: &v1alpha1.ArgumentValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: "metadata.namespace"}}},
		{Name: "env", ValueFrom: &v1alpha1.ArgumentValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: "metadata.labels['env']"}}},
		{Name: "not-declared", Value: "ignored"},
	}
	ro := newRollout(ns, "web", 2, "web:1", withCanary(
		v1alpha1.CanaryStep{SetWeight: ptr.To[int32](50)},
		analysisStep(args, "error-rate", "cluster:"+cluster),
		v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{}},
	))
	ro.Labels = map[string]string{"env": "prod"}
	stableHash := startRollout(t, ro)

	got, run := stepRun(t, ro, 1)
	canary := got.Status.CurrentPodHash
	g.Expect(run.Name).To(Equal("web-" + canary + "-2-1"))
	g.Expect(metav1.IsControlledBy(run, got)).To(BeTrue())
	g.Expect(run.Labels).To(Equal(map[string]string{
		"app": "web", v1alpha1.DefaultRolloutUniqueLabelKey: canary, RolloutTypeLabel: "Step", StepIndexLabel: "1"}))
	g.Expect(run.Annotations).To(HaveKeyWithValue(RevisionAnnotation, "2"))
	g.Expect(run.Spec.Metrics).To(HaveLen(2))
	g.Expect(run.Spec.Metrics[0].Name).To(Equal("errors"))
	g.Expect(run.Spec.Metrics[1].Name).To(Equal("latency"))
	values := map[string]string{}
	for _, a := range run.Spec.Args {
		values[a.Name] = ptr.Deref(a.Value, "<nil>")
	}
	g.Expect(values).To(Equal(map[string]string{
		"service-name": "web-canary", "stable-hash": stableHash, "canary-hash": canary,
		"namespace": ns, "env": "prod", "window": "5m",
	}))
	g.Expect(got.Status.Phase).To(Equal(v1alpha1.RolloutPhaseProgressing))
	g.Expect(got.Status.Message).To(ContainSubstring("AnalysisRun " + run.Name))

	// The rollout holds: the run stays the step's, no second one.
	g.Consistently(func(g Gomega) {
		got := getRollout(g, client.ObjectKeyFromObject(ro))
		g.Expect(got.Status.CurrentStepIndex).To(HaveValue(Equal(int32(1))))
		g.Expect(got.Status.Canary.CurrentStepAnalysisRunStatus.Name).To(Equal(run.Name))
	}, 2*time.Second, 200*time.Millisecond).Should(Succeed())
	var runs v1alpha1.AnalysisRunList
	g.Expect(env.Client.List(ctx(), &runs, client.InNamespace(ns))).To(Succeed())
	g.Expect(runs.Items).To(HaveLen(1))

	patchStatus(t, ro, `{"status":{"promoteFull":true}}`)
	got, _ = expectHealthy(t, ro, 2)
	g.Expect(got.Status.Canary.CurrentStepAnalysisRunStatus).To(BeNil())
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx(), client.ObjectKeyFromObject(run), run)).To(Succeed())
		g.Expect(run.Spec.Terminate).To(BeTrue())
	}, timeout).Should(Succeed())
}

// TestAnalysisCannotStart: an analysis whose template is missing leaves
// the rollout Degraded with Ready False naming the template, until the
// template is created; one whose templates have two metrics of one name
// says so.
func TestAnalysisCannotStart(t *testing.T) {
	g := NewWithT(t)
	ns := suite.NewNamespace(t, env.Client, "analysis-missing-")
	ro := newRollout(ns, "web", 2, "web:1", withCanary(
		v1alpha1.CanaryStep{SetWeight: ptr.To[int32](50)},
		analysisStep(nil, "error-rate"),
	))
	startRollout(t, ro)
	g.Eventually(func(g Gomega) {
		got := getRollout(g, client.ObjectKeyFromObject(ro))
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.RolloutPhaseDegraded))
		g.Expect(got.Status.Message).To(ContainSubstring("AnalysisTemplate 'error-rate' not found"))
		ready := conditions.Get(got, meta.ReadyCondition)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(AnalysisTemplateNotFoundReason))
		g.Expect(ready.Message).To(ContainSubstring("AnalysisTemplate 'error-rate' not found"))
	}, timeout, 200*time.Millisecond).Should(Succeed())

	newTemplate(t, ns, "error-rate", nil, idleMetric("errors"))
	got, run := stepRun(t, ro, 1)
	g.Expect(run.Name).To(Equal("web-" + got.Status.CurrentPodHash + "-2-1"))
	g.Eventually(func(g Gomega) {
		got := getRollout(g, client.ObjectKeyFromObject(ro))
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.RolloutPhaseProgressing))
		g.Expect(conditions.GetReason(got, meta.ReadyCondition)).NotTo(Equal(AnalysisTemplateNotFoundReason))
	}, timeout).Should(Succeed())

	// Two templates with a metric of one name cannot be merged.
	ns2 := suite.NewNamespace(t, env.Client, "analysis-dup-")
	newTemplate(t, ns2, "a", nil, idleMetric("errors"))
	newTemplate(t, ns2, "b", nil, idleMetric("errors"))
	dup := newRollout(ns2, "web", 2, "web:1", withCanary(analysisStep(nil, "a", "b")))
	startRollout(t, dup)
	g.Eventually(func(g Gomega) {
		got := getRollout(g, client.ObjectKeyFromObject(dup))
		g.Expect(conditions.GetReason(got, meta.ReadyCondition)).To(Equal(InvalidAnalysisReason))
		g.Expect(conditions.GetMessage(got, meta.ReadyCondition)).To(ContainSubstring("two metrics have the same name 'errors'"))
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.RolloutPhaseDegraded))
	}, timeout, 200*time.Millisecond).Should(Succeed())
}

// warningEvents are the messages of the Warning events of the rollout
// with reason.
func warningEvents(g Gomega, ro *v1alpha1.Rollout, reason string) []string {
	var events corev1.EventList
	g.Expect(env.Client.List(ctx(), &events, client.InNamespace(ro.Namespace))).To(Succeed())
	var out []string
	for _, e := range events.Items {
		if e.InvolvedObject.Name == ro.Name && e.Type == corev1.EventTypeWarning && e.Reason == reason {
			out = append(out, e.Message)
		}
	}
	return out
}

// TestAnalysisRunsTerminated: a run still measuring is terminated when
// the rollout is aborted, and a retry starts a new run (".1") rather than
// reusing the terminated one; a new template mid-analysis terminates the
// old revision's run and the new revision gets its own.
func TestAnalysisRunsTerminated(t *testing.T) {
	g := NewWithT(t)
	ro, _, first := startAnalysisStep(t, "analysis-terminate-", 2, idleMetric("errors"))
	ns := ro.Namespace

	terminated := func(name string) {
		t.Helper()
		g.Eventually(func(g Gomega) {
			run := &v1alpha1.AnalysisRun{}
			g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, run)).To(Succeed())
			g.Expect(run.Spec.Terminate).To(BeTrue())
		}, timeout, 200*time.Millisecond).Should(Succeed())
	}
	patchStatus(t, ro, `{"status":{"abort":true}}`)
	terminated(first.Name)

	patchStatus(t, ro, `{"status":{"abort":false}}`)
	_, retry := stepRun(t, ro, 1, first.Name)
	g.Expect(retry.Name).To(Equal(first.Name + ".1"))
	g.Expect(retry.Spec.Terminate).To(BeFalse())

	got := getRollout(g, client.ObjectKeyFromObject(ro))
	suite.Edit(t, env.Client, got, func(r *v1alpha1.Rollout) {
		r.Spec.Template.Spec.Containers[0].Image = "web:3"
	}, timeout)
	terminated(retry.Name)
	g.Eventually(func(g Gomega) {
		got := getRollout(g, client.ObjectKeyFromObject(ro))
		s := got.Status.Canary.CurrentStepAnalysisRunStatus
		g.Expect(s).NotTo(BeNil())
		g.Expect(s.Name).To(Equal("web-" + got.Status.CurrentPodHash + "-3-1"))
		g.Expect(got.Status.CurrentPodHash).NotTo(Equal(first.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]))
	}, timeout, 200*time.Millisecond).Should(Succeed())
}

// TestAnalysisIgnoresProgressDeadline: an analysis takes as long as its
// metrics say, so a rollout waiting for one is not Degraded by
// progressDeadlineSeconds, as in Argo Rollouts.
func TestAnalysisIgnoresProgressDeadline(t *testing.T) {
	g := NewWithT(t)
	ro, _, _ := startAnalysisStep(t, "analysis-deadline-", 2, idleMetric("errors"), func(ro *v1alpha1.Rollout) {
		ro.Spec.ProgressDeadlineSeconds = ptr.To[int32](2)
	})
	g.Consistently(func(g Gomega) {
		got := getRollout(g, client.ObjectKeyFromObject(ro))
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.RolloutPhaseProgressing), "message: %s", got.Status.Message)
		g.Expect(conditions.GetReason(got, v1alpha1.RolloutProgressing)).To(Equal(ReplicaSetUpdatedReason))
	}, 5*time.Second, 250*time.Millisecond).Should(Succeed())
}
