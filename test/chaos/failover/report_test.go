package failover

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// figure is one scenario's line of the report.
type figure struct {
	scenario string
	objects  int
	takeover string
	converge time.Duration
	lost     int
	wrong    int
	note     string
}

// figures collects the scenarios' figures for the report.
var figures struct {
	mu   sync.Mutex
	rows []figure
}

// addFigure logs a scenario's figure line and keeps it for the report.
func addFigure(t *testing.T, f figure) {
	t.Logf("FIGURE %s: objects=%d takeover=%s converge=%s lost=%d wrongPrunes=%d %s",
		f.scenario, f.objects, f.takeover, f.converge.Round(100*time.Millisecond), f.lost, f.wrong, f.note)
	figures.mu.Lock()
	defer figures.mu.Unlock()
	figures.rows = append(figures.rows, f)
}

// reportHeading opens this package's section of the fault suite's report.
const reportHeading = "## Leader election failover and sharding (test/chaos/failover)"

// writeReport puts the figures in the fault suite's report
// (FERRY_CHAOS_REPORT) as its last section. test/chaos writes that file
// whole and make chaos runs the packages one after another, test/chaos
// first; a section left by an earlier run of this package alone is
// replaced, not repeated.
func writeReport() error {
	path := os.Getenv("FERRY_CHAOS_REPORT")
	if path == "" {
		return nil
	}
	figures.mu.Lock()
	defer figures.mu.Unlock()
	mode := "short"
	if os.Getenv("FERRY_CHAOS") == "full" {
		mode = "full"
	}
	size := fleetSize()
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	var b strings.Builder
	if before, _, found := strings.Cut(string(old), reportHeading); found {
		b.WriteString(before)
	} else if len(old) > 0 {
		b.Write(old)
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%s\n\nWritten by test/chaos/failover (%s form; `make chaos` runs it) on %s: %d CPUs, %s/%s, %s.\n\n", reportHeading,
		mode, time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Fprintf(&b, "Workload: test/chaos/workload with %d Kustomizations and %d HelmReleases, in a namespace per scenario. Lease %s, renew deadline %s, retry period %s.\n\n",
		size.Kustomizations, size.HelmReleases, leaseDuration, renewDeadline, retryPeriod)
	b.WriteString("Failover: two replicas of each of the four controllers, a Pod object each; every leader killed with SIGKILL right after a commit that applies, prunes and upgrades, then restarted as a standby in the same Pod. Takeover is from the kill until the standby's leader_election_master_status is 1. The source-controller's Service (config/manager/source-controller) selects the Pod the leader labels ferrycd.io/leader; a loopback proxy routes the Service's address as kube-proxy would. Sharding: two kustomize-controllers by --watch-label-selector=sharding.fluxcd.io/key=shard1|shard2, shard2 started only after shard1 converged its half; both read an unlabelled GitRepository, ConfigMap and Secret.\n\n")
	b.WriteString("| scenario | objects | takeover | time to converge | objects lost | wrong prunes | notes |\n|---|---|---|---|---|---|---|\n")
	for _, f := range figures.rows {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %d | %d | %s |\n", f.scenario, f.objects, f.takeover,
			f.converge.Round(100*time.Millisecond), f.lost, f.wrong, f.note)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
