package outcome

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/patch"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

// reasons records the reasons of the events a Finisher records.
type reasons []string

func (r *reasons) Eventf(_, _ runtime.Object, _, reason, _, _ string, _ ...interface{}) {
	*r = append(*r, reason)
}

func (r *reasons) AnnotatedEventf(_, _ runtime.Object, _ map[string]string, _, reason, _, _ string, _ ...interface{}) {
	*r = append(*r, reason)
}

// TestExpectedWaitRecordsNoEvent checks that a wait marked expected shows
// on Ready like any wait but records no Warning event, while a plain wait
// still does.
func TestExpectedWaitRecordsNoEvent(t *testing.T) {
	for _, tt := range []struct {
		name       string
		err        error
		wantEvents int
	}{
		{"wait", WaitErr("ArtifactFailed", time.Minute, errors.New("no artifact yet")), 1},
		{"expected wait", ExpectedWaitErr("ArtifactFailed", time.Minute, errors.New("no artifact yet")), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			scheme := runtime.NewScheme()
			g.Expect(sourcev1.AddToScheme(scheme)).To(Succeed())
			obj := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "default", Generation: 1}}
			c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(obj).WithStatusSubresource(obj).Build()
			rec := &reasons{}
			f := &Finisher{Scheme: scheme, Recorder: rec}
			res, err := f.Finish(context.Background(), patch.NewSerialPatcher(obj, c), obj, time.Now(), tt.err)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(res.RequeueAfter).To(Equal(time.Minute))
			g.Expect(conditions.GetReason(obj, "Ready")).To(Equal("ArtifactFailed"))
			g.Expect(conditions.IsTrue(obj, "Reconciling")).To(BeTrue())
			g.Expect(*rec).To(HaveLen(tt.wantEvents))
		})
	}
}

// TestQuietWait checks which waits go unwritten under Quiet: an
// expected wait of an object that has reported no Ready condition, from
// its first such wait until the period ends, requeued by then (or sooner,
// when the wait asks to be); anything else is written as before, and ends
// the quiet wait.
func TestQuietWait(t *testing.T) {
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	expected := ExpectedWaitErr("ArtifactFailed", time.Minute, errors.New("no artifact yet"))
	soon := ExpectedWaitErr("ArtifactFailed", time.Second, errors.New("no artifact yet"))
	type step struct {
		at          time.Duration
		err         error
		wantWritten bool
		wantRequeue time.Duration
	}
	for _, tt := range []struct {
		name     string
		reported bool
		steps    []step
	}{
		{"quiet until the period ends", false, []step{
			{0, expected, false, 2 * time.Second},
			{500 * time.Millisecond, expected, false, 1500 * time.Millisecond},
			{2 * time.Second, expected, true, time.Minute},
		}},
		{"a sooner requeue is kept", false, []step{{0, soon, false, time.Second}}},
		{"already reported", true, []step{{0, expected, true, time.Minute}}},
		{"unexpected wait", false, []step{{0, WaitErr("ArtifactFailed", time.Minute, errors.New("no artifact yet")), true, time.Minute}}},
		{"a failure in between ends the quiet wait", false, []step{
			{0, expected, false, 2 * time.Second},
			{time.Second, errors.New("boom"), true, 0},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			scheme := runtime.NewScheme()
			g.Expect(sourcev1.AddToScheme(scheme)).To(Succeed())
			obj := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "default", Generation: 1, UID: "u1"}}
			if tt.reported {
				conditions.MarkUnknown(obj, "Ready", "Progressing", "reconciling")
				// Whole seconds, as the API (and the fake client) keep it.
				obj.Status.Conditions[0].LastTransitionTime = metav1.NewTime(start)
			}
			c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(obj).WithStatusSubresource(obj).Build()
			now := start
			f := &Finisher{Scheme: scheme, Recorder: &reasons{}, OwnedConditions: []string{"Ready", "Reconciling", "Stalled"},
				Quiet: NewQuietWaits(2 * time.Second), Now: func() time.Time { return now }}
			for i, st := range tt.steps {
				now = start.Add(st.at)
				current := &sourcev1.HelmChart{}
				g.Expect(c.Get(context.Background(), client.ObjectKeyFromObject(obj), current)).To(Succeed())
				res, _ := f.Finish(context.Background(), patch.NewSerialPatcher(current, c), current, now, st.err)
				g.Expect(res.RequeueAfter).To(Equal(st.wantRequeue), "step %d", i)
				stored := &sourcev1.HelmChart{}
				g.Expect(c.Get(context.Background(), client.ObjectKeyFromObject(obj), stored)).To(Succeed())
				g.Expect(conditions.Get(stored, "Ready") != nil && conditions.GetReason(stored, "Ready") != "Progressing").
					To(Equal(st.wantWritten), "step %d: %v", i, stored.Status.Conditions)
			}
		})
	}
}
