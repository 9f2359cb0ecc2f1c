// Package devenv is the environment `make dev` starts and the e2e suite
// checks: a full-mode local cluster with Ferry's CRDs, the five controllers
// as processes under their own ServiceAccounts, and a local git server
// holding a sample GitOps repository (apps overlays, infrastructure, and
// clusters/dev tying them together) that one GitRepository and one
// Kustomization bootstrap, App of Apps style.
package devenv

import (
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
	notificationv1beta3 "github.com/ferrycd/ferry/pkg/apis/notification/v1beta3"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/gitserver"
	"github.com/ferrycd/ferry/test/harness"
)

// controllers are the processes make dev runs: the four Flux controllers
// and the rollout-controller, so a Rollout in the sample's repository, or
// one a user pushes, is rolled out as on a real install.
var controllers = append(slices.Clone(harness.Controllers), "rollout-controller")

//go:embed sample
var sample embed.FS

// ageKey decrypts the sample's SOPS-encrypted Secret; devenv puts it in the
// Secret sops-age that clusters/dev/apps.yaml names.
//
//go:embed keys/age.agekey
var ageKey []byte

// SampleRepo is the sample repository's path on the git server.
const SampleRepo = "ferry/fleet.git"

// Env is a running development environment.
type Env struct {
	Cluster     *cluster.Cluster
	Git         *gitserver.Server
	Controllers []*harness.Process
	// Addrs are where the controllers' servers listen.
	Addrs harness.Addrs
	// Kubeconfig is an admin kubeconfig for kubectl.
	Kubeconfig string
	// Work holds the controller binaries, kubeconfigs, logs and storage.
	Work string
	out  io.Writer
	// keepWork keeps Work after a failed Start, for its logs.
	keepWork bool
}

// Scheme knows every Ferry kind.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(sourcev1.AddToScheme(s))
	utilruntime.Must(kustomizev1.AddToScheme(s))
	utilruntime.Must(helmv2.AddToScheme(s))
	utilruntime.Must(notificationv1.AddToScheme(s))
	utilruntime.Must(notificationv1beta3.AddToScheme(s))
	return s
}

// Start brings everything up, printing progress to out. Stop cleans up,
// also after a failed Start, but then keeps Work: the error names a
// controller log in it.
func Start(ctx context.Context, out io.Writer) (*Env, error) {
	e := &Env{out: out}
	err := e.start(ctx)
	e.keepWork = err != nil
	return e, err
}

func (e *Env) start(ctx context.Context) error {
	e.step("starting the local cluster (kube-apiserver, etcd, controller-manager, scheduler, a kwok node)")
	c, err := cluster.Start(cluster.Options{Mode: cluster.Full, Scheme: Scheme()})
	if err != nil {
		return err
	}
	e.Cluster = c
	if e.Work, err = os.MkdirTemp("", "ferry-dev-"); err != nil {
		return err
	}
	e.Kubeconfig = filepath.Join(e.Work, "kubeconfig")
	data, err := os.ReadFile(c.KubeconfigPath)
	if err != nil {
		return err
	}
	if err := os.WriteFile(e.Kubeconfig, data, 0o600); err != nil {
		return err
	}

	e.step("building the controllers")
	if err := harness.Build(e.Work, controllers...); err != nil {
		return err
	}
	e.step("installing RBAC into " + harness.Namespace)
	if err := harness.InstallRBAC(c, controllers...); err != nil {
		return err
	}
	addrs, extra := harness.Args(e.Work)
	e.Addrs = addrs
	for _, name := range controllers {
		e.step("starting " + name)
		p, err := harness.Start(ctx, c, e.Work, e.Work, name, extra[name]...)
		if err != nil {
			return err
		}
		e.Controllers = append(e.Controllers, p)
		if err := p.WaitReady(time.Minute); err != nil {
			return err
		}
	}

	e.step("starting a git server with the sample repository")
	if e.Git, err = gitserver.Start(); err != nil {
		return err
	}
	if _, err := e.Git.Commit(SampleRepo, "main", "sample GitOps repository", sampleFiles()); err != nil {
		return err
	}
	e.step("bootstrapping: GitRepository 'fleet' and Kustomization 'cluster' (path ./clusters/dev)")
	return e.bootstrap(ctx)
}

func sampleFiles() map[string]string {
	files := map[string]string{}
	_ = fs.WalkDir(sample, "sample", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := sample.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("sample", path)
		files[rel] = string(data)
		return nil
	})
	return files
}

func (e *Env) bootstrap(ctx context.Context) error {
	ns := harness.Namespace
	src := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "fleet", Namespace: ns},
		Spec: sourcev1.GitRepositorySpec{URL: e.Git.URL(SampleRepo), Interval: metav1.Duration{Duration: time.Minute},
			Reference: &sourcev1.GitRepositoryRef{Branch: "main"}},
	}
	ks := &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster", Namespace: ns},
		Spec: kustomizev1.KustomizationSpec{
			Interval: metav1.Duration{Duration: 10 * time.Minute}, Path: "./clusters/dev", Prune: true,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "fleet"},
		},
	}
	keys := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "sops-age", Namespace: ns},
		Data:       map[string][]byte{"age.agekey": ageKey},
	}
	if err := e.Cluster.Client.Create(ctx, keys); err != nil {
		return err
	}
	if err := e.Cluster.Client.Create(ctx, src); err != nil {
		return err
	}
	return e.Cluster.Client.Create(ctx, ks)
}

// Kustomizations the sample creates, in the order they become ready.
var Kustomizations = []string{"cluster", "infrastructure", "apps"}

// WaitReady waits until the sample's Kustomizations are all Ready, printing
// each as it becomes so.
func (e *Env) WaitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	done := map[string]bool{}
	for time.Now().Before(deadline) {
		for _, name := range Kustomizations {
			if done[name] {
				continue
			}
			ks := &kustomizev1.Kustomization{}
			if err := e.Cluster.Client.Get(ctx, client.ObjectKey{Namespace: harness.Namespace, Name: name}, ks); err != nil {
				continue
			}
			if conditions.IsReady(ks) && ks.Status.ObservedGeneration == ks.Generation {
				done[name] = true
				e.step(fmt.Sprintf("Kustomization %s is Ready: %s", name, conditions.GetMessage(ks, "Ready")))
			}
		}
		if len(done) == len(Kustomizations) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("the sample did not become Ready within %s; see the controller logs in %s", timeout, e.Work)
}

// Status is what `kubectl get fluxcd -A` shows.
func (e *Env) Status() (string, error) {
	return e.Cluster.Kubectl(nil, "get", "fluxcd", "-A")
}

// Stop ends everything Start began.
func (e *Env) Stop() {
	for _, p := range e.Controllers {
		p.Stop()
	}
	if e.Git != nil {
		e.Git.Close()
	}
	if e.Cluster != nil {
		_ = e.Cluster.Stop()
	}
	if e.keepWork {
		e.step("kept the logs in " + e.Work)
	} else if e.Work != "" {
		_ = os.RemoveAll(e.Work)
	}
}

func (e *Env) step(msg string) {
	if e.out != nil {
		fmt.Fprintf(e.out, "==> %s\n", msg)
	}
}
