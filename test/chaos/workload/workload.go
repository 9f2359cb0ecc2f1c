// Package workload deploys a fleet for the fault suite: one Git repository
// holding many Kustomization paths (each a few ConfigMaps, half of them
// pruning) and the HelmReleases of a chart from a real chart repository, all
// in a namespace the run owns. It commits changes that make the controllers
// apply, prune and upgrade, waits for the cluster to converge, and checks
// the result against Git: content, inventories, Helm releases and, through a
// watch that runs the whole time, every deletion of an object Git still
// held.
//
// The suite in test/chaos and the failover scenarios in test/chaos/failover
// share it, so that every fault is judged by the same checks.
package workload

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/gitserver"
)

// Env is what a workload runs against.
type Env struct {
	// Config and Client authenticate as a cluster admin; Client's scheme
	// knows the source, kustomize and helm types.
	Config *rest.Config
	Client client.Client
	// Git serves the workload's repository.
	Git *gitserver.Server
	// Namespace is created by Deploy and owned by the run: every object of
	// the workload lives in it.
	Namespace string
}

// Size says how big the workload is and how its objects are labelled.
type Size struct {
	// Kustomizations is the number of application Kustomizations, each
	// applying its own path of ObjectsPerPath ConfigMaps; the even ones
	// prune.
	Kustomizations int
	// HelmReleases is the number of HelmReleases, kept in Git and applied by
	// one more Kustomization, "releases".
	HelmReleases int
	// Labels, when set, returns extra labels for the Kustomization of that
	// name (e.g. sharding.fluxcd.io/key), so a scenario can split the fleet.
	Labels func(kustomization string) map[string]string
}

// ObjectsPerPath is how many ConfigMaps each application path holds; the
// last one is what a prune change removes.
const ObjectsPerPath = 3

// releaseObjects are the ConfigMaps the chart renders per release.
var releaseObjects = []string{"a", "b"}

// Owner labels the kustomize-controller puts on what it applies.
const (
	OwnerNameLabel      = "kustomize.toolkit.fluxcd.io/name"
	OwnerNamespaceLabel = "kustomize.toolkit.fluxcd.io/namespace"
)

// Names of the workload's sources and its releases Kustomization.
const (
	GitRepositoryName  = "fleet"
	HelmRepositoryName = "charts"
	ReleasesName       = "releases"
)

const repoPath = "fleet.git"

// Workload is a deployed fleet.
type Workload struct {
	env    Env
	size   Size
	charts *chartRepo
	repo   string

	mu sync.Mutex
	// gen and hrGen are the values Git gives the application ConfigMaps and
	// the HelmReleases; pruned says whether the last ConfigMap of each
	// pruning path is out of Git.
	gen, hrGen int
	pruned     bool
	head       string
	// history holds Git's object set at each commit, oldest first, to judge
	// deletions.
	history []snapshot
	watch   *deletionWatch
	// converge is the last WaitConverged result, reported by Check.
	converge time.Duration
}

type snapshot struct {
	at   time.Time
	keys map[string]bool
}

// Deploy creates the namespace, the Git repository, the chart repository,
// the sources, the Kustomizations and (through Git) the HelmReleases, and
// starts watching deletions. It does not wait for convergence: call
// WaitConverged. Close stops what Deploy started.
func Deploy(ctx context.Context, env Env, size Size) (*Workload, error) {
	w := &Workload{env: env, size: size, repo: env.Namespace + "/" + repoPath, gen: 1, hrGen: 1}
	c := env.Client
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: env.Namespace}}); err != nil &&
		!apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	var err error
	if w.charts, err = startChartRepo(); err != nil {
		return nil, err
	}
	if w.watch, err = startDeletionWatch(env.Config, env.Namespace); err != nil {
		w.Close()
		return nil, err
	}
	if _, err := w.commit("initial fleet"); err != nil {
		w.Close()
		return nil, err
	}
	for _, o := range w.objects() {
		if err := c.Create(ctx, o); err != nil {
			w.Close()
			return nil, fmt.Errorf("creating %s %s: %w", o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), err)
		}
	}
	return w, nil
}

// Close stops the deletion watch and the chart repository. The namespace
// stays: the cluster is the run's and goes with it.
func (w *Workload) Close() {
	if w.watch != nil {
		w.watch.stop()
	}
	if w.charts != nil {
		w.charts.close()
	}
}

// Namespace is where the workload lives.
func (w *Workload) Namespace() string { return w.env.Namespace }

// Head is the revision of the last commit, as a GitRepository reports it.
func (w *Workload) Head() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.head
}

// Objects counts the objects Git holds now plus the objects the releases
// render: what a scenario puts at risk.
func (w *Workload) Objects() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.expected())
}

// KustomizationNames are the names of every Kustomization of the workload,
// the releases one last when there are HelmReleases.
func (w *Workload) KustomizationNames() []string {
	var names []string
	for i := range w.size.Kustomizations {
		names = append(names, ksName(i))
	}
	if w.size.HelmReleases > 0 {
		names = append(names, ReleasesName)
	}
	return names
}

// objects are the workload's sources and Kustomizations, created by Deploy.
func (w *Workload) objects() []client.Object {
	ns := w.env.Namespace
	out := []client.Object{
		&sourcev1.GitRepository{
			ObjectMeta: metav1.ObjectMeta{Name: GitRepositoryName, Namespace: ns},
			Spec: sourcev1.GitRepositorySpec{URL: w.env.Git.URL(w.repo), Interval: metav1.Duration{Duration: time.Minute},
				Reference: &sourcev1.GitRepositoryRef{Branch: "main"}},
		},
	}
	if w.size.HelmReleases > 0 {
		out = append(out, &sourcev1.HelmRepository{
			ObjectMeta: metav1.ObjectMeta{Name: HelmRepositoryName, Namespace: ns},
			Spec:       sourcev1.HelmRepositorySpec{URL: w.charts.url, Interval: metav1.Duration{Duration: 10 * time.Minute}},
		})
	}
	for _, name := range w.KustomizationNames() {
		path, prune := "./releases", true
		if name != ReleasesName {
			var i int
			_, _ = fmt.Sscanf(name, "ks-%d", &i)
			path, prune = "./apps/"+name, prunes(i)
		}
		k := &kustomizev1.Kustomization{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: kustomizev1.KustomizationSpec{
				// A long interval: recovery must come from watches and
				// retries, not from the next scheduled run.
				Interval:      metav1.Duration{Duration: 10 * time.Minute},
				RetryInterval: &metav1.Duration{Duration: 10 * time.Second},
				Path:          path, Prune: prune, TargetNamespace: ns,
				SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: GitRepositoryName},
			},
		}
		if w.size.Labels != nil {
			k.Labels = w.size.Labels(name)
		}
		out = append(out, k)
	}
	return out
}

func ksName(i int) string { return fmt.Sprintf("ks-%d", i) }
func hrName(j int) string { return fmt.Sprintf("hr-%d", j) }

// prunes says whether application Kustomization i prunes: half do, so a
// prune change and a kill during it touch both kinds.
func prunes(i int) bool { return i%2 == 0 }

// RequestReconcile asks for a reconcile of obj now, as `flux reconcile`
// does, retrying conflicts with the controllers' status writes.
func RequestReconcile(ctx context.Context, c client.Client, obj client.Object) (string, error) {
	token := time.Now().Format(time.RFC3339Nano)
	var err error
	for range 50 {
		cur := obj.DeepCopyObject().(client.Object)
		if err = c.Get(ctx, client.ObjectKeyFromObject(obj), cur); err != nil {
			return "", err
		}
		patch := client.MergeFrom(cur.DeepCopyObject().(client.Object))
		ann := cur.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		ann[fluxmeta.ReconcileRequestAnnotation] = token
		cur.SetAnnotations(ann)
		if err = c.Patch(ctx, cur, patch); err == nil {
			return token, nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return "", err
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
