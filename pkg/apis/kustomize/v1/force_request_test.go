package v1

import (
	"testing"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
)

func TestForceRequested(t *testing.T) {
	for _, tc := range []struct {
		name             string
		requested, force string
		handled          string
		want             bool
	}{
		{name: "pending", requested: "t1", force: "t1", want: true},
		{name: "handled", requested: "t1", force: "t1", handled: "t1"},
		{name: "an older force with a newer request", requested: "t2", force: "t1", handled: "t1"},
		{name: "no force", requested: "t1"},
		{name: "force without a request", force: "t1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &Kustomization{}
			ann := map[string]string{}
			if tc.requested != "" {
				ann[fluxmeta.ReconcileRequestAnnotation] = tc.requested
			}
			if tc.force != "" {
				ann[ForceRequestAnnotation] = tc.force
			}
			k.SetAnnotations(ann)
			k.Status.LastHandledReconcileAt = tc.handled
			if got := k.ForceRequested(); got != tc.want {
				t.Fatalf("ForceRequested() = %v, want %v", got, tc.want)
			}
		})
	}
}
