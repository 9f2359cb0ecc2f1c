package failover

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/chaos/workload"
)

// shardKey is the label Flux's sharding uses.
const shardKey = "sharding.fluxcd.io/key"

// shardOf spreads the fleet's Kustomizations over shard1 and shard2; the
// one that applies the HelmReleases goes to shard1.
func shardOf(kustomization string) string {
	var i int
	if _, err := fmt.Sscanf(kustomization, "ks-%d", &i); err == nil && i%2 == 1 {
		return "shard2"
	}
	return "shard1"
}

// varsManifest is the template the substitution Kustomizations apply: a
// ConfigMap per shard whose data comes from an unlabelled ConfigMap and an
// unlabelled Secret.
const varsManifest = `apiVersion: v1
kind: ConfigMap
metadata:
  name: greeting-${shard}
data:
  greeting: "${greeting}"
  token: "${token}"
`

// substitution is a Kustomization of shard that applies varsManifest from
// the unlabelled GitRepository "vars" with variables from the unlabelled
// ConfigMap "vars" and Secret "vars".
func substitution(ns, shard string) *kustomizev1.Kustomization {
	return &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Name: "vars-" + shard, Namespace: ns, Labels: map[string]string{shardKey: shard}},
		Spec: kustomizev1.KustomizationSpec{
			Interval: metav1.Duration{Duration: 10 * time.Minute}, Path: "./", Prune: true, TargetNamespace: ns,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "vars"},
			PostBuild: &kustomizev1.PostBuild{
				Substitute: map[string]string{"shard": shard},
				SubstituteFrom: []kustomizev1.SubstituteReference{
					{Kind: "ConfigMap", Name: "vars"}, {Kind: "Secret", Name: "vars"},
				},
			},
		},
	}
}

// createSubstitutions makes namespace ns with the unlabelled source,
// ConfigMap and Secret, and one substitution Kustomization per shard. They
// live outside the fleet's namespace, whose every Kustomization the
// workload's checks hold to the fleet's revision.
func createSubstitutions(t *testing.T, ns string) {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	g.Expect(testCluster.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	repo := ns + "/vars.git"
	_, err := gitSrv.Commit(repo, "main", "vars template", map[string]string{"greeting.yaml": varsManifest})
	g.Expect(err).NotTo(HaveOccurred())
	for _, o := range []client.Object{
		&sourcev1.GitRepository{
			ObjectMeta: metav1.ObjectMeta{Name: "vars", Namespace: ns},
			Spec: sourcev1.GitRepositorySpec{URL: gitSrv.URL(repo), Interval: metav1.Duration{Duration: 10 * time.Minute},
				Reference: &sourcev1.GitRepositoryRef{Branch: "main"}},
		},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "vars", Namespace: ns}, Data: map[string]string{"greeting": "hello"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "vars", Namespace: ns}, StringData: map[string]string{"token": "from-the-secret"}},
		substitution(ns, "shard1"),
		substitution(ns, "shard2"),
	} {
		g.Expect(testCluster.Client.Create(ctx, o)).To(Succeed())
	}
}

// expectSubstituted checks the shard's substitution Kustomization applied
// the values of the unlabelled ConfigMap and Secret.
func expectSubstituted(g Gomega, ns, shard string) {
	cm := &corev1.ConfigMap{}
	g.Expect(testCluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "greeting-" + shard}, cm)).To(Succeed())
	g.Expect(cm.Data).To(Equal(map[string]string{"greeting": "hello", "token": "from-the-secret"}))
}

// kustomizationsOf lists the namespace's Kustomizations of shard.
func kustomizationsOf(g Gomega, ns, shard string) []kustomizev1.Kustomization {
	list := &kustomizev1.KustomizationList{}
	g.Expect(testCluster.Client.List(context.Background(), list, client.InNamespace(ns),
		client.MatchingLabels{shardKey: shard})).To(Succeed())
	g.Expect(list.Items).NotTo(BeEmpty())
	return list.Items
}

// TestShards splits the fleet over two kustomize-controller shards by
// --watch-label-selector, each with leader election. While only shard1
// runs, shard1's Kustomizations become Ready and shard2's stay untouched;
// once shard2 runs too the fleet converges with nothing lost. Each shard's
// metrics name only its own Kustomizations, and both read the unlabelled
// GitRepositories, ConfigMap and Secret their Kustomizations reference.
func TestShards(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	size := fleetSize()
	size.Labels = func(name string) map[string]string { return map[string]string{shardKey: shardOf(name)} }
	svc := newServiceProxy(t)

	src := newReplica(t, "source-controller", "source-controller-s", "--storage-adv-addr="+svc.Addr())
	svc.add(src)
	newReplica(t, "helm-controller", "helm-controller-s")
	shards := map[string]*replica{
		"shard1": newReplica(t, "kustomize-controller", "kustomize-controller-shard1", "--watch-label-selector="+shardKey+"=shard1"),
	}
	start := time.Now()
	w := deploy(t, "shards", size)
	ns, varsNS := w.Namespace(), w.Namespace()+"-vars"
	createSubstitutions(t, varsNS)

	// Only shard1 runs: its Kustomizations become Ready at Git's head,
	// shard2's are not touched at all.
	g.Eventually(func(g Gomega) {
		for _, k := range kustomizationsOf(g, ns, "shard1") {
			g.Expect(conditions.IsReady(&k)).To(BeTrue(), "%s: %v", k.Name, k.Status.Conditions)
			if strings.HasPrefix(k.Name, "ks-") {
				g.Expect(k.Status.LastAppliedRevision).To(Equal(w.Head()))
			}
		}
		expectSubstituted(g, varsNS, "shard1")
	}, convergeTimeout(size), 500*time.Millisecond).Should(Succeed())
	for _, k := range kustomizationsOf(g, ns, "shard2") {
		g.Expect(k.Status.Conditions).To(BeEmpty(), "%s belongs to shard2, which is not running", k.Name)
		g.Expect(k.Finalizers).To(BeEmpty(), "%s belongs to shard2, which is not running", k.Name)
		g.Expect(k.Status.ObservedGeneration).To(BeNumerically("<", 1), "%s was never reconciled", k.Name)
		g.Expect(k.Status.LastAttemptedRevision).To(BeEmpty(), "%s was never reconciled", k.Name)
	}
	k := &kustomizev1.Kustomization{}
	g.Expect(testCluster.Client.Get(ctx, client.ObjectKey{Namespace: varsNS, Name: "vars-shard2"}, k)).To(Succeed())
	g.Expect(k.Status.Conditions).To(BeEmpty(), "vars-shard2 belongs to shard2, which is not running")
	g.Expect(testCluster.Client.Get(ctx, client.ObjectKey{Namespace: varsNS, Name: "greeting-shard2"}, &corev1.ConfigMap{})).
		NotTo(Succeed(), "shard2's substitution must wait for shard2")

	shards["shard2"] = newReplica(t, "kustomize-controller", "kustomize-controller-shard2", "--watch-label-selector="+shardKey+"=shard2")
	report := converge(t, w, start, convergeTimeout(size))
	g.Eventually(func(g Gomega) { expectSubstituted(g, varsNS, "shard2") }, time.Minute, 200*time.Millisecond).Should(Succeed())

	// A change after both run goes through both shards.
	next := time.Now()
	_, err := w.Commit(ctx, workload.Change{Apply: true, Prune: true})
	g.Expect(err).NotTo(HaveOccurred())
	again := converge(t, w, next, convergeTimeout(size))

	// Each shard leads its own lease and reconciled only its own objects.
	for shard, r := range shards {
		g.Expect(r.isLeader()).To(BeTrue(), "%s should lead a lease of its own", shard)
		m, err := scrape(r.proc.MetricsAddr)
		g.Expect(err).NotTo(HaveOccurred())
		want := []string{varsNS + "/vars-" + shard}
		for _, k := range kustomizationsOf(g, ns, shard) {
			want = append(want, ns+"/"+k.Name)
		}
		var got []string
		for obj := range m.objects("gotk_reconcile_duration_seconds_count") {
			got = append(got, obj)
		}
		g.Expect(got).To(ConsistOf(want), "%s should have reconciled exactly its own Kustomizations", shard)
	}
	addFigure(t, figure{scenario: "shards: shard1 alone, then both", objects: report.Objects, takeover: "-",
		converge: report.ConvergeTime, lost: report.ObjectsLost, wrong: report.WrongPrunes,
		note: fmt.Sprintf("%d+%d Kustomizations; each shard's metrics name only its own", len(kustomizationsOf(g, ns, "shard1")), len(kustomizationsOf(g, ns, "shard2")))})
	addFigure(t, figure{scenario: "shards: a commit through both", objects: again.Objects, takeover: "-",
		converge: again.ConvergeTime, lost: again.ObjectsLost, wrong: again.WrongPrunes})
}
