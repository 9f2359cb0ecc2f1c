package harness

import (
	"context"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ferrycd/ferry/test/cluster"
)

// StartLocal builds the named controllers into work, installs their RBAC
// and starts each under its own ServiceAccount with the flags of Args, then
// waits until every one is ready. Without the notification-controller among
// them, events go to the API server only. On error the processes already
// started are stopped.
func StartLocal(ctx context.Context, c *cluster.Cluster, work string, names ...string) ([]*Process, error) {
	_, procs, err := StartLocalAddrs(ctx, c, work, names...)
	return procs, err
}

// StartLocalAddrs is StartLocal that also returns the addresses the
// processes serve on, for a test that sends them requests of its own.
func StartLocalAddrs(ctx context.Context, c *cluster.Cluster, work string, names ...string) (Addrs, []*Process, error) {
	if err := Build(work, names...); err != nil {
		return Addrs{}, nil, err
	}
	if err := InstallRBAC(c, names...); err != nil {
		return Addrs{}, nil, err
	}
	addrs, args := Args(work)
	var procs []*Process
	stop := func() {
		for _, p := range procs {
			p.Stop()
		}
	}
	for _, name := range names {
		a := args[name]
		if !slices.Contains(names, "notification-controller") {
			a = WithoutEvents(a)
		}
		p, err := Start(ctx, c, work, work, name, a...)
		if err != nil {
			stop()
			return Addrs{}, nil, err
		}
		procs = append(procs, p)
	}
	for _, p := range procs {
		if err := p.WaitReady(time.Minute); err != nil {
			stop()
			return Addrs{}, nil, err
		}
	}
	return addrs, procs, nil
}

// WithoutEvents drops the events address from a controller's flags, for a
// run with no notification-controller to receive events.
func WithoutEvents(args []string) []string {
	var out []string
	for _, a := range args {
		if !strings.HasPrefix(a, "--events-addr=") {
			out = append(out, a)
		}
	}
	return out
}

// LogTail is the last n bytes of the process's output, for a failed test
// to show.
func (p *Process) LogTail(n int) string {
	out, err := os.ReadFile(p.LogPath)
	if err != nil {
		return err.Error()
	}
	return string(out[max(0, len(out)-n):])
}

// Exited says whether the process has ended, for a fault test to tell a
// controller that crashed from one that rode out the fault.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}
