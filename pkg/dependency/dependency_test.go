package dependency

import (
	"context"
	"errors"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/apis/meta"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// ks is a Kustomization of generation gen, observed at observed, Ready as
// given, having applied revision applied.
func ks(ns, name string, gen, observed int64, ready metav1.ConditionStatus, applied string) *kustomizev1.Kustomization {
	k := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Generation: gen}}
	k.Status.ObservedGeneration = observed
	k.Status.LastAppliedRevision = applied
	if ready != "" {
		conditions.Set(k, &metav1.Condition{Type: fluxmeta.ReadyCondition, Status: ready, Reason: "Test"})
	}
	return k
}

func TestReady(t *testing.T) {
	tests := []struct {
		name    string
		dep     *kustomizev1.Kustomization
		want    string
		wantErr string
	}{
		{name: "ready", dep: ks("a", "d", 2, 2, metav1.ConditionTrue, "main@sha1:1")},
		{name: "no conditions yet", dep: ks("a", "d", 1, 0, "", ""), wantErr: "is not ready"},
		{name: "failed", dep: ks("a", "d", 2, 2, metav1.ConditionFalse, ""), wantErr: "is not ready"},
		{name: "spec changed, previous generation still Ready", dep: ks("a", "d", 3, 2, metav1.ConditionTrue, ""),
			wantErr: "has not reconciled generation 3 yet"},
		{name: "same source at the wanted revision", dep: ks("a", "d", 2, 2, metav1.ConditionTrue, "main@sha1:2"),
			want: "main@sha1:2"},
		{name: "same source behind", dep: ks("a", "d", 2, 2, metav1.ConditionTrue, "main@sha1:1"), want: "main@sha1:2",
			wantErr: "has not applied revision 'main@sha1:2' yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			err := Ready(tt.dep, State{ObservedGeneration: tt.dep.Status.ObservedGeneration,
				AppliedRevision: tt.dep.Status.LastAppliedRevision, WantRevision: tt.want})
			if tt.wantErr == "" {
				g.Expect(err).NotTo(HaveOccurred())
			} else {
				g.Expect(err).To(MatchError(tt.wantErr))
			}
		})
	}
}

func TestCheck(t *testing.T) {
	scheme := runtime.NewScheme()
	NewWithT(t).Expect(kustomizev1.AddToScheme(scheme)).To(Succeed())
	NewWithT(t).Expect(helmv2.AddToScheme(scheme)).To(Succeed())
	ready := func(o *helmv2.HelmRelease, gen int64) *helmv2.HelmRelease {
		o.Generation = gen
		o.Status.ObservedGeneration = gen
		conditions.MarkTrue(o, fluxmeta.ReadyCondition, "Test", "ok")
		return o
	}
	hr := func(ns, name string) *helmv2.HelmRelease {
		return &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	}
	c := fake.NewClientBuilder().WithScheme(scheme).
		WithObjects(ready(hr("apps", "db"), 1), ready(hr("infra", "ingress"), 4), hr("apps", "pending")).Build()
	obj := hr("apps", "web")
	state := func(d *helmv2.HelmRelease) State { return State{ObservedGeneration: d.Status.ObservedGeneration} }
	newHR := func() *helmv2.HelmRelease { return &helmv2.HelmRelease{} }
	refs := func(names ...string) []meta.DependencyReference {
		var out []meta.DependencyReference
		for _, n := range names {
			r := meta.DependencyReference{Name: n}
			if n == "ingress" {
				r.Namespace = "infra"
			}
			out = append(out, r)
		}
		return out
	}
	tests := []struct {
		name       string
		refs       []meta.DependencyReference
		opts       Options
		wantErr    string
		wantDenied bool
		wantKind   outcome.Kind
		wantReason string
	}{
		{name: "none"},
		{name: "all ready, across namespaces", refs: refs("db", "ingress")},
		{name: "the first not ready is named", refs: refs("db", "pending", "missing"),
			wantErr: "dependency 'apps/pending' is not ready", wantKind: outcome.Wait, wantReason: NotReadyReason},
		{name: "missing", refs: refs("missing"),
			wantErr: "dependency 'apps/missing' not found", wantKind: outcome.Wait, wantReason: NotReadyReason},
		{name: "cross-namespace refused", refs: refs("db", "ingress"), opts: Options{NoCrossNamespaceRefs: true},
			wantErr:    "dependency 'infra/ingress' is in another namespace, which --no-cross-namespace-refs forbids",
			wantDenied: true, wantKind: outcome.Stall, wantReason: AccessDeniedReason},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			err := Check(context.Background(), c, obj, tt.refs, newHR, state, tt.opts)
			if tt.wantErr == "" {
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(Outcome(err, time.Second)).To(Succeed())
				return
			}
			g.Expect(err).To(MatchError(tt.wantErr))
			var e *Error
			g.Expect(errors.As(err, &e)).To(BeTrue())
			g.Expect(e.Denied).To(Equal(tt.wantDenied))
			o := outcome.As(Outcome(err, 5*time.Second), "")
			g.Expect(o.Kind).To(Equal(tt.wantKind))
			g.Expect(o.Reason).To(Equal(tt.wantReason))
			if tt.wantKind == outcome.Wait {
				g.Expect(o.RequeueAfter).To(Equal(5 * time.Second))
			}
		})
	}
}

func TestKey(t *testing.T) {
	g := NewWithT(t)
	obj := client.Object(&kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web"}})
	g.Expect(Key(obj, meta.DependencyReference{Name: "db"}).String()).To(Equal("apps/db"))
	g.Expect(Key(obj, meta.DependencyReference{Name: "db", Namespace: "infra"}).String()).To(Equal("infra/db"))
}
