// Package bounds feeds the controllers, running as processes under their own
// ServiceAccounts on a local cluster, inputs sized to hurt: a repository of
// 10,000 files, a 50 MiB manifest, a chart whose values.yaml is 1 GiB
// uncompressed, request bodies over the notification-controller's cap. Each
// case checks the outcome a user sees (it works, or a Ready=False condition
// that names the size and the limit, and an event) and that nothing was lost
// (no object applied from a refused build, none pruned), and records every
// controller's peak RSS during the case; TestMain prints them as a table for
// docs/bounds.md.
//
// The big inputs are generated at run time and streamed to disk, so the test
// process itself stays small; nothing big is committed.
//
// The cases run one after another (no t.Parallel), so that a case's peak RSS
// is its own.
package bounds

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/gitserver"
	"github.com/ferrycd/ferry/test/harness"
)

var (
	testCluster *cluster.Cluster
	gitSrv      *gitserver.Server
	addrs       harness.Addrs
	controllers = map[string]*harness.Process{}
	// peaks holds one row per case: its name and each controller's peak
	// RSS in bytes, in harness.Controllers order.
	peaks [][]string
)

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(sourcev1.AddToScheme(scheme))
	utilruntime.Must(kustomizev1.AddToScheme(scheme))
	utilruntime.Must(helmv2.AddToScheme(scheme))
	utilruntime.Must(notificationv1.AddToScheme(scheme))

	crds, err := crdFiles()
	if err != nil {
		return 0, err
	}
	c, err := cluster.Start(cluster.Options{Scheme: scheme, CRDDirs: crds})
	if err != nil {
		return 0, err
	}
	testCluster = c
	defer func() { _ = c.Stop() }()

	work, err := os.MkdirTemp("", "ferry-bounds-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(work)
	if gitSrv, err = gitserver.Start(); err != nil {
		return 0, err
	}
	defer gitSrv.Close()
	// Every controller runs with its default limits: the cases check the
	// defaults a user gets.
	var procs []*harness.Process
	if addrs, procs, err = harness.StartLocalAddrs(ctx, c, work, harness.Controllers...); err != nil {
		return 0, err
	}
	defer func() {
		for _, p := range procs {
			p.Stop()
		}
	}()
	for _, p := range procs {
		controllers[p.Name] = p
	}
	code := m.Run()
	printPeaks()
	if code != 0 {
		for _, name := range harness.Controllers {
			fmt.Fprintf(os.Stderr, "==> %s <==\n%s\n", name, controllers[name].LogTail(4000))
		}
	}
	return code, nil
}

// crdFiles are the CRDs of the four controllers run here: those of the
// Flux groups and Ferry's policy group, not the rollout-controller's, which
// this suite does not run (and whose schema must not hold it up).
func crdFiles() ([]string, error) {
	root, err := cluster.RepoRoot()
	if err != nil {
		return nil, err
	}
	all, err := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range all {
		if base := filepath.Base(f); strings.Contains(base, ".fluxcd.io_") || strings.HasPrefix(base, "policy.ferrycd.io_") {
			out = append(out, f)
		}
	}
	return out, nil
}

// measure resets every controller's peak RSS and, when the test ends,
// records each one's peak during it, logs it and keeps it for the table
// TestMain prints. It fails the test if a controller exited meanwhile
// (an OOM kill, a crash): a bounded input must never cost a process.
func measure(t *testing.T) {
	t.Helper()
	for _, name := range harness.Controllers {
		if err := controllers[name].ResetPeakRSS(); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		row := []string{t.Name()}
		for _, name := range harness.Controllers {
			p := controllers[name]
			rss := p.PeakRSS()
			if rss == 0 {
				t.Errorf("%s is not running any more; see %s", name, p.LogPath)
			}
			t.Logf("peak RSS of %s: %s", name, mib(rss))
			row = append(row, mib(rss))
		}
		peaks = append(peaks, row)
	})
}

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

// printPeaks writes the peak RSS of each controller in each case as a
// Markdown table, the form docs/bounds.md keeps.
func printPeaks() {
	if len(peaks) == 0 {
		return
	}
	fmt.Printf("\npeak RSS per case:\n\n| case | %s |\n|---|%s\n", strings.Join(harness.Controllers, " | "),
		strings.Repeat("---|", len(harness.Controllers)))
	for _, row := range peaks {
		fmt.Printf("| %s |\n", strings.Join(row, " | "))
	}
}
