// Package chaos is the fault suite: the source-, kustomize- and
// helm-controller run as processes on the local cluster, under their own
// ServiceAccounts, while one workload (test/chaos/workload) reconciles, and
// each scenario injects one fault, waits for the cluster to converge again
// and checks it against Git. Every scenario's figures (time to converge,
// objects lost, wrong prunes) are logged and, with FERRY_CHAOS_REPORT set,
// written to that file as Markdown.
//
// The scenarios share one workload, one after another: deploying 300
// objects per scenario would spend the time budget on setup, and a fault
// that leaves damage behind should be caught by the next scenario's checks
// too. FERRY_CHAOS=full runs the size (200 Kustomizations, 100
// HelmReleases); by default a short form runs, small enough for make test.
package chaos

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	apiruntime "k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/chaos/workload"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/gitserver"
	"github.com/ferrycd/ferry/test/harness"
)

// controllers are the ones the workload needs.
var controllers = []string{"source-controller", "kustomize-controller", "helm-controller"}

var (
	testCluster *cluster.Cluster
	gitSrv      *gitserver.Server
	wl          *workload.Workload
	fleet       *processes
	size        workload.Size
	// convergeTimeout bounds every wait for convergence, scaled to the size.
	convergeTimeout time.Duration
	// outage is how long the API server stays down.
	outage time.Duration
	mode   string
)

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (code int, err error) {
	mode = "short"
	size, convergeTimeout, outage = workload.Size{Kustomizations: 20, HelmReleases: 10}, 3*time.Minute, 30*time.Second
	if os.Getenv("FERRY_CHAOS") == "full" {
		mode = "full"
		size, convergeTimeout = workload.Size{Kustomizations: 200, HelmReleases: 100}, 10*time.Minute
	}
	ctx := context.Background()
	scheme := apiruntime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(sourcev1.AddToScheme(scheme))
	utilruntime.Must(kustomizev1.AddToScheme(scheme))
	utilruntime.Must(helmv2.AddToScheme(scheme))
	work, err := os.MkdirTemp("", "ferry-chaos-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(work)
	crds, err := fluxCRDs(work)
	if err != nil {
		return 0, err
	}
	c, err := cluster.Start(cluster.Options{Scheme: scheme, CRDDirs: []string{crds}})
	if err != nil {
		return 0, err
	}
	testCluster = c
	defer func() { _ = c.Stop() }()
	if gitSrv, err = gitserver.Start(); err != nil {
		return 0, err
	}
	defer gitSrv.Close()
	if fleet, err = startProcesses(ctx, c, work); err != nil {
		return 0, err
	}
	defer fleet.stopAll()
	// The logs go with the work directory, so they are printed first.
	defer func() {
		if err != nil || code != 0 {
			fleet.printLogs()
		}
	}()

	start := time.Now()
	wl, err = workload.Deploy(ctx, workload.Env{Config: c.Config, Client: c.Client, Git: gitSrv, Namespace: "chaos"}, size)
	if err != nil {
		return 0, err
	}
	defer wl.Close()
	if _, err := wl.WaitConverged(ctx, start, 2*convergeTimeout); err != nil {
		return 0, fmt.Errorf("the workload did not converge after deploy: %w", err)
	}
	r, err := wl.Check(ctx)
	if err != nil {
		return 0, err
	}
	figures.add("deploy", "", r)
	fmt.Printf("chaos: %s form, %d Kustomizations, %d HelmReleases, %d objects; deploy %s\n",
		mode, size.Kustomizations, size.HelmReleases, wl.Objects(), r)

	code = m.Run()
	if path := os.Getenv("FERRY_CHAOS_REPORT"); path != "" {
		figures.failed = code != 0
		if err := figures.write(path, true); err != nil {
			return 0, err
		}
	}
	return code, nil
}

// fluxCRDs copies the CRDs the three controllers serve and watch (all but
// the rollout-controller's argoproj.io kinds, which no controller here
// runs) into work/crds, so that the fault suite does not depend on the
// schemas of kinds it never uses.
func fluxCRDs(work string) (string, error) {
	root, err := cluster.RepoRoot()
	if err != nil {
		return "", err
	}
	files, err := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	if err != nil {
		return "", err
	}
	dir := filepath.Join(work, "crds")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "argoproj.io_") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// processes are the running controllers, restarted with the same flags
// (and so the same storage directory and artifact address) after a kill.
type processes struct {
	ctx   context.Context
	c     *cluster.Cluster
	work  string
	args  map[string][]string
	procs map[string]*harness.Process
}

func startProcesses(ctx context.Context, c *cluster.Cluster, work string) (*processes, error) {
	if err := harness.Build(work, controllers...); err != nil {
		return nil, err
	}
	if err := harness.InstallRBAC(c, controllers...); err != nil {
		return nil, err
	}
	_, args := harness.Args(work)
	p := &processes{ctx: ctx, c: c, work: work, args: args, procs: map[string]*harness.Process{}}
	for _, name := range controllers {
		if err := p.start(name); err != nil {
			p.stopAll()
			return nil, err
		}
	}
	return p, nil
}

// start runs name and waits until it is ready.
func (p *processes) start(name string) error {
	proc, err := harness.Start(p.ctx, p.c, p.work, p.work, name, harness.WithoutEvents(p.args[name])...)
	if err != nil {
		return err
	}
	p.procs[name] = proc
	return proc.WaitReady(time.Minute)
}

// kill ends name with SIGKILL, as a crash or an OOM kill would.
func (p *processes) kill(name string) { p.procs[name].Kill() }

// storage is the source-controller's artifact directory.
func (p *processes) storage() string { return filepath.Join(p.work, "storage") }

// restartExited starts again every controller that has exited, as the
// kubelet would, and returns their names.
func (p *processes) restartExited() ([]string, error) {
	var names []string
	for _, name := range controllers {
		if p.procs[name].Exited() {
			names = append(names, name)
			if err := p.start(name); err != nil {
				return names, err
			}
		}
	}
	return names, nil
}

func (p *processes) stopAll() {
	for _, proc := range p.procs {
		proc.Stop()
	}
}

func (p *processes) printLogs() {
	for _, name := range controllers {
		if proc := p.procs[name]; proc != nil {
			fmt.Fprintf(os.Stderr, "==> %s <==\n%s\n", name, proc.LogTail(6000))
		}
	}
}

// figureTable collects one row per scenario for the report.
type figureTable struct {
	mu     sync.Mutex
	rows   []figure
	failed bool
}

type figure struct {
	scenario, note string
	r              workload.Report
}

var figures figureTable

// add records a scenario's figures and rewrites the report at once, so a
// run cut short by its timeout still leaves what it measured.
func (f *figureTable) add(scenario, note string, r workload.Report) {
	f.mu.Lock()
	f.rows = append(f.rows, figure{scenario, note, r})
	f.mu.Unlock()
	if path := os.Getenv("FERRY_CHAOS_REPORT"); path != "" {
		if err := f.write(path, false); err != nil {
			fmt.Fprintln(os.Stderr, "chaos: writing the report:", err)
		}
	}
}

// write writes the report: the machine, the size and a row per scenario;
// done says the run has ended, with the result of the tests.
func (f *figureTable) write(path string, done bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "# Fault suite report\n\nWritten by `make chaos` (test/chaos, %s form) on %s: %d CPUs, %s/%s, %s.\n\n",
		mode, time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Fprintf(&b, "Workload: %d Kustomizations (%d ConfigMaps each, half pruning) and %d HelmReleases (kept in Git, applied by one more Kustomization; each release renders %d ConfigMaps), from one GitRepository and one HelmRepository: %d objects under check.\n\n",
		size.Kustomizations, workload.ObjectsPerPath, size.HelmReleases, 2, wl.Objects())
	b.WriteString("Each scenario injects its fault into the running workload, waits until the cluster equals Git again, then checks: every object Git holds exists with Git's content and owner labels, every Kustomization's inventory equals the objects carrying its owner labels and what Git holds, every HelmRelease's release is deployed at the version its status names with none pending, and no object Git still held was deleted at any time (a watch runs throughout).\n\n")
	b.WriteString("| scenario | time to converge | objects lost | wrong prunes | drifted | inventory mismatches | release mismatches | notes |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, row := range f.rows {
		r := row.r
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %d | %s |\n", row.scenario, r.ConvergeTime.Round(100*time.Millisecond),
			r.ObjectsLost, r.WrongPrunes, r.Drifted, r.InventoryMismatches, r.ReleaseMismatches, row.note)
	}
	if !done {
		b.WriteString("\nThe run had not ended when this was written: the scenarios after the last row did not report.\n")
	} else if f.failed {
		b.WriteString("\nSome tests failed: see the run's output for what the checks found.\n")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
