package manager

import (
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/options"
)

// selectors returns the label selector of each ByObject entry, by Go type.
func selectors(byObject map[client.Object]cache.ByObject) map[string]string {
	out := map[string]string{}
	for obj, c := range byObject {
		sel := ""
		if c.Label != nil {
			sel = c.Label.String()
		}
		out[fmt.Sprintf("%T", obj)] = sel
	}
	return out
}

func TestCacheOptions(t *testing.T) {
	watched := labels.SelectorFromSet(labels.Set{"reconcile.fluxcd.io/watch": "Enabled"})
	c := Controller{
		Name:       "test-controller",
		Reconciled: []client.Object{&kustomizev1.Kustomization{}},
		Watched:    map[client.Object]labels.Selector{&corev1.ConfigMap{}: watched},
	}
	tests := []struct {
		name    string
		opts    options.Options
		want    map[string]string
		wantErr string
	}{
		{name: "no selector: only the watched kinds are filtered", opts: options.Options{WatchAllNamespaces: true},
			want: map[string]string{"*v1.ConfigMap": "reconcile.fluxcd.io/watch=Enabled"}},
		{name: "selector on the reconciled kinds only", opts: options.Options{WatchAllNamespaces: true, WatchLabelSelector: "shard=one"},
			want: map[string]string{"*v1.ConfigMap": "reconcile.fluxcd.io/watch=Enabled", "*v1.Kustomization": "shard=one"}},
		{name: "invalid selector", opts: options.Options{WatchAllNamespaces: true, WatchLabelSelector: "a b"},
			wantErr: "invalid --watch-label-selector"},
		{name: "one namespace needs RUNTIME_NAMESPACE", opts: options.Options{},
			wantErr: "RUNTIME_NAMESPACE"},
	}
	t.Setenv("RUNTIME_NAMESPACE", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := cacheOptions(c, tt.opts)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got.DefaultLabelSelector).To(BeNil(), "no kind is filtered by default")
			g.Expect(selectors(got.ByObject)).To(Equal(tt.want))
		})
	}
}

func TestLeaderElectionID(t *testing.T) {
	g := NewWithT(t)
	g.Expect(leaderElectionID("kustomize-controller", "")).To(Equal("kustomize-controller-leader-election"))
	shard1 := leaderElectionID("kustomize-controller", "sharding.fluxcd.io/key=shard1")
	shard2 := leaderElectionID("kustomize-controller", "sharding.fluxcd.io/key=shard2")
	g.Expect(shard1).To(HavePrefix("kustomize-controller-leader-election-"))
	g.Expect(shard1).NotTo(Equal(shard2), "each shard elects its own leader")
	g.Expect(leaderElectionID("kustomize-controller", "sharding.fluxcd.io/key=shard1")).To(Equal(shard1),
		"the replicas of one shard share a lease")
}
