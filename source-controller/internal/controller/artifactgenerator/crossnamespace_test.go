package artifactgenerator

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sourceextv1 "github.com/ferrycd/ferry/pkg/apis/sourceext/v1beta1"
)

// TestNoCrossNamespaceRefs: under the lockdown flag a generator may name
// sources of its own namespace only (spelled out or left empty); without
// the flag another namespace is allowed, as in Flux.
func TestNoCrossNamespaceRefs(t *testing.T) {
	g := NewWithT(t)
	generator := func(namespace string) *scope {
		return &scope{obj: &sourceextv1.ArtifactGenerator{
			ObjectMeta: metav1.ObjectMeta{Name: "gen", Namespace: "tenant-a"},
			Spec: sourceextv1.ArtifactGeneratorSpec{Sources: []sourceextv1.SourceReference{
				{Alias: "app", Kind: "GitRepository", Name: "app", Namespace: namespace},
			}},
		}}
	}
	locked := &Reconciler{NoCrossNamespaceRefs: true}
	err := locked.validate(context.Background(), generator("tenant-b"))
	g.Expect(err).To(MatchError(ContainSubstring("source 'app' is in namespace 'tenant-b': cross-namespace references are disabled")))
	g.Expect(locked.validate(context.Background(), generator("tenant-a"))).To(Succeed())
	g.Expect(locked.validate(context.Background(), generator(""))).To(Succeed())
	g.Expect((&Reconciler{}).validate(context.Background(), generator("tenant-b"))).To(Succeed())
}
