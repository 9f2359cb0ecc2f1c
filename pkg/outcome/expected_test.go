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
