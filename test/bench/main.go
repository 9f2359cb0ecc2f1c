// Command bench is `make bench`: it starts the local cluster and the
// controllers as processes, runs a named scenario, and writes a Markdown
// report with the machine, the versions and the figures. Controller issues add
// their scenarios to the scenarios map.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/harness"
)

// Env is what a scenario runs against.
type Env struct {
	Cluster     *cluster.Cluster
	Controllers map[string]*harness.Process
	Addrs       harness.Addrs
	N           int
	// Restart stops a controller and starts it again with the same flags,
	// replacing it in Controllers (start-up with objects already present).
	Restart func(ctx context.Context, name string) (*harness.Process, error)
}

// Result is a scenario's figures, as rows of the report's table.
type Result struct {
	Rows [][2]string
}

// Add appends a figure to the result.
func (r *Result) Add(name, value string) { r.Rows = append(r.Rows, [2]string{name, value}) }

// Scenario measures one thing.
type Scenario struct {
	Doc string
	// Controllers are the controllers the scenario runs; nil means all four.
	Controllers []string
	// FastCluster runs only etcd and kube-apiserver, for a scenario that
	// needs no workloads.
	FastCluster bool
	// DefaultN is the size when --n is not given; zero means the flag's
	// default.
	DefaultN int
	Run      func(ctx context.Context, env *Env) (*Result, error)
}

var scenarios = map[string]Scenario{
	"startup": {Doc: "time for the four controllers to start and report ready", Run: runStartup},
	"gitrepos": {Doc: "GitRepositories, each on its own repository, to Ready; then a pass with nothing changed",
		Controllers: []string{"source-controller"}, Run: runGitRepos},
	"ks": {Doc: "Kustomizations from one GitRepository, each applying 3 ConfigMaps, to Ready; then a pass with nothing changed",
		Controllers: []string{"source-controller", "kustomize-controller"}, Run: runKustomizations},
	"hr": {Doc: "HelmReleases of a small chart (3 objects, no hooks), each with its own HelmChart (spec.chart) from one HelmRepository, to Ready; then a pass with nothing changed",
		Controllers: []string{"source-controller", "helm-controller"}, Run: runHelmReleases},
	"hr-shared": {Doc: "HelmReleases of a small chart (3 objects, no hooks) sharing one HelmChart from Git (spec.chartRef) to Ready; then a pass with nothing changed",
		Controllers: []string{"source-controller", "helm-controller"}, Run: runSharedHelmReleases},
	"ks-fleet": {Doc: "Kustomizations from one GitRepository, each applying 3 ConfigMaps (interval 10m), to Ready; the steady state with nothing changing (CPU over --steady); kustomize-controller restarted with all present (ready, first reconcile, all reconciled again)",
		Controllers: []string{"source-controller", "kustomize-controller"}, DefaultN: 10000, Run: runKSFleet},
	"drift": {Doc: "Kustomizations of 3 ConfigMaps watched for drift: idle CPU, RSS and API requests with nothing changing, requests of an unchanged reconcile, then 100 hand edits healed (p50/p95)",
		Controllers: []string{"source-controller", "kustomize-controller"}, DefaultN: 1000, Run: runDrift},
	"webhook": {Doc: "a push announced through a Receiver webhook until the new revision is applied and Ready",
		Controllers: []string{"source-controller", "kustomize-controller", "notification-controller"}, Run: runWebhook},
	"ui": {Doc: "ferry ui over N Kustomizations with status written directly (no controller), the overview opened, searched and filtered in headless Chromium",
		Controllers: []string{}, FastCluster: true, DefaultN: 5000, Run: runUI},
}

func main() {
	name := flag.String("scenario", "startup", "scenario to run: "+strings.Join(names(), ", "))
	n := flag.Int("n", 100, "scenario size (objects)")
	out := flag.String("out", "", "report file (default: bench-<scenario>.md in the repository root)")
	flag.BoolVar(&defaultFlags, "default-flags", false, "run the controllers at their default flags, as users do, instead of the bench's --concurrent")
	flag.StringVar(&profileDir, "profile", "", "directory to write each controller's CPU profile of the first --profile-for and its log into")
	flag.DurationVar(&profileFor, "profile-for", time.Minute, "how long the CPU profiles run from the controllers' start")
	flag.Parse()
	nGiven := false
	flag.Visit(func(f *flag.Flag) { nGiven = nGiven || f.Name == "n" })
	if sc, ok := scenarios[*name]; ok && !nGiven && sc.DefaultN > 0 {
		*n = sc.DefaultN
	}
	if err := run(*name, *n, *out); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(name string, n int, out string) error {
	loadAtStart = machineLoad()
	sc, ok := scenarios[name]
	if !ok {
		return fmt.Errorf("unknown scenario %q; have %s", name, strings.Join(names(), ", "))
	}
	ctx := context.Background()
	start := time.Now()
	mode, modeName := cluster.Full, "full mode"
	if sc.FastCluster {
		mode, modeName = cluster.Fast, "fast mode"
	}
	c, err := cluster.Start(cluster.Options{Mode: mode})
	if err != nil {
		return err
	}
	defer func() { _ = c.Stop() }()
	clusterStart := time.Since(start)

	work, err := os.MkdirTemp("", "ferry-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	ctls := sc.Controllers
	if ctls == nil {
		ctls = harness.Controllers
	}
	if err := harness.Build(work, ctls...); err != nil {
		return err
	}
	if err := harness.InstallRBAC(c, ctls...); err != nil {
		return err
	}
	env := &Env{Cluster: c, Controllers: map[string]*harness.Process{}, N: n}
	addrs, args := harness.Args(work)
	env.Addrs = addrs
	startCtl := func(ctx context.Context, ctl string) (*harness.Process, error) {
		extra := concurrency[ctl]
		if defaultFlags {
			extra = nil
		}
		if profileDir != "" {
			extra = append(extra, "--enable-pprof")
		}
		return harness.Start(ctx, c, work, work, ctl, append(withoutEvents(args[ctl], ctls), extra...)...)
	}
	for _, ctl := range ctls {
		p, err := startCtl(ctx, ctl)
		if err != nil {
			return err
		}
		env.Controllers[ctl] = p
	}
	defer func() {
		for _, p := range env.Controllers {
			p.Stop()
		}
	}()
	if profileDir != "" {
		done := profile(env.Controllers)
		defer func() { <-done; keepLogs(env.Controllers) }()
	}
	env.Restart = func(ctx context.Context, ctl string) (*harness.Process, error) {
		env.Controllers[ctl].Stop()
		p, err := startCtl(ctx, ctl)
		if err != nil {
			return nil, err
		}
		env.Controllers[ctl] = p
		return p, nil
	}
	res, err := sc.Run(ctx, env)
	if err != nil {
		return err
	}
	res.Rows = append([][2]string{{"local cluster start (" + modeName + ")", clusterStart.Round(time.Millisecond).String()}}, res.Rows...)
	for _, ctl := range ctls {
		p := env.Controllers[ctl]
		res.Add(ctl+" peak RSS", fmt.Sprintf("%.1f MiB", float64(p.PeakRSS())/(1<<20)))
		res.Add(ctl+" CPU time", p.CPUTime().Round(time.Millisecond).String())
	}
	return writeReport(out, name, sc, n, res)
}

// loadAtStart is the machine's load average when the run began.
var loadAtStart string

// machineLoad returns the 1, 5 and 15 minute load averages from
// /proc/loadavg, or "unknown".
func machineLoad() string {
	data, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// defaultFlags leaves concurrency out (--default-flags).
var defaultFlags bool

// profileDir and profileFor are --profile and --profile-for.
var (
	profileDir string
	profileFor time.Duration
)

// profile fetches a CPU profile of each controller over the first
// profileFor into profileDir/<controller>.cpu.pprof; the channel closes
// when all are written.
func profile(ctls map[string]*harness.Process) <-chan struct{} {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for name, p := range ctls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fetchProfile(p, filepath.Join(profileDir, name+".cpu.pprof")); err != nil {
				fmt.Fprintln(os.Stderr, "bench: profile of", name+":", err)
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	return done
}

func fetchProfile(p *harness.Process, path string) error {
	if err := p.WaitReady(time.Minute); err != nil {
		return err
	}
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.MetricsAddr, int(profileFor.Seconds()))
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// keepLogs copies each controller's log into profileDir before the work
// directory is removed.
func keepLogs(ctls map[string]*harness.Process) {
	for name, p := range ctls {
		if data, err := os.ReadFile(p.LogPath); err == nil {
			_ = os.WriteFile(filepath.Join(profileDir, name+".log"), data, 0o644)
		}
	}
}

// concurrency gives the controllers under load more workers than the
// default; reports label figures measured with it "tuned".
var concurrency = map[string][]string{
	"source-controller":    {"--concurrent=8"},
	"kustomize-controller": {"--concurrent=10"},
	"helm-controller":      {"--concurrent=10"},
}

// runStartup measures how long the controllers take to report ready.
func runStartup(_ context.Context, env *Env) (*Result, error) {
	res := &Result{}
	start := time.Now()
	for name, p := range env.Controllers {
		if err := p.WaitReady(time.Minute); err != nil {
			return nil, err
		}
		res.Add(name+" ready after", time.Since(start).Round(time.Millisecond).String())
	}
	return res, nil
}

func writeReport(out, name string, sc Scenario, n int, res *Result) error {
	if out == "" {
		root, err := cluster.RepoRoot()
		if err != nil {
			return err
		}
		out = filepath.Join(root, "bench-"+name+".md")
	}
	host, _ := os.Hostname()
	var b strings.Builder
	flags := "tuned: " + fmt.Sprint(concurrency)
	if defaultFlags {
		flags = "default flags"
	}
	fmt.Fprintf(&b, "# Ferry benchmark: %s\n\n%s (N=%d, %s)\n\n", name, sc.Doc, n, flags)
	fmt.Fprintf(&b, "- date: %s\n- machine: %s, %s/%s, %d CPUs\n- Go: %s\n- control plane: %s\n",
		time.Now().UTC().Format(time.RFC3339), host, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(),
		runtime.Version(), filepath.Base(os.Getenv("FERRY_CLUSTER_BINS")))
	// The machine may be shared: the load says how far the times are
	// upper bounds.
	fmt.Fprintf(&b, "- load average (1, 5, 15 min) at the start: %s; at the end: %s\n\n", loadAtStart, machineLoad())
	b.WriteString("| figure | value |\n|---|---|\n")
	for _, r := range res.Rows {
		fmt.Fprintf(&b, "| %s | %s |\n", r[0], r[1])
	}
	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Print(b.String())
	fmt.Println("\nreport written to", out)
	return nil
}

func names() []string {
	var out []string
	for k := range scenarios {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// withoutEvents drops the events address when the scenario runs no
// notification-controller to receive events.
func withoutEvents(args, ctls []string) []string {
	for _, c := range ctls {
		if c == "notification-controller" {
			return args
		}
	}
	var out []string
	for _, a := range args {
		if !strings.HasPrefix(a, "--events-addr=http") {
			out = append(out, a)
		}
	}
	return out
}
