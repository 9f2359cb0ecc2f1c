package harness

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/ferrycd/ferry/test/cluster"
)

// Suite is what Main hands a package's tests: one cluster and the
// controllers running against it.
type Suite struct {
	Cluster *cluster.Cluster
	// Addrs are the servers the controllers listen on.
	Addrs Addrs
	// Procs are the controllers, in the order named.
	Procs []*Process
}

// Process returns the running controller name, nil when it was not started.
func (s *Suite) Process(name string) *Process {
	for _, p := range s.Procs {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Main is a TestMain for a package that tests controllers as processes:
// it starts a Fast cluster with scheme, calls setup (for the package's
// own servers; its cleanup runs at the end), builds the named controllers
// and starts each under its own ServiceAccount with the flags of Args plus
// extra[name] (without the notification-controller among names, events go
// to the API server only), runs the tests, prints the controllers' log
// tails when one failed, and stops everything. It returns the exit code.
func Main(m *testing.M, scheme *runtime.Scheme, names []string, extra map[string][]string,
	setup func(*Suite) (cleanup func(), err error)) int {
	code, err := runMain(m, scheme, names, extra, setup)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return code
}

func runMain(m *testing.M, scheme *runtime.Scheme, names []string, extra map[string][]string,
	setup func(*Suite) (func(), error)) (int, error) {
	c, err := cluster.Start(cluster.Options{Scheme: scheme})
	if err != nil {
		return 0, err
	}
	defer func() { _ = c.Stop() }()
	s := &Suite{Cluster: c}
	if setup != nil {
		cleanup, err := setup(s)
		if err != nil {
			return 0, err
		}
		defer cleanup()
	}
	work, err := os.MkdirTemp("", "ferry-suite-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(work)
	if err := Build(work, names...); err != nil {
		return 0, err
	}
	if err := InstallRBAC(c, names...); err != nil {
		return 0, err
	}
	addrs, args := Args(work)
	s.Addrs = addrs
	defer func() {
		for _, p := range s.Procs {
			p.Stop()
		}
	}()
	withEvents := slices.Contains(names, "notification-controller")
	for _, name := range names {
		a := args[name]
		if !withEvents {
			a = WithoutEvents(a)
		}
		p, err := Start(context.Background(), c, work, work, name, append(a, extra[name]...)...)
		if err != nil {
			return 0, err
		}
		s.Procs = append(s.Procs, p)
	}
	for _, p := range s.Procs {
		if err := p.WaitReady(time.Minute); err != nil {
			return 0, fmt.Errorf("%w\n%s", err, p.LogTail(4000))
		}
	}
	code := m.Run()
	if code != 0 {
		for _, p := range s.Procs {
			fmt.Fprintf(os.Stderr, "==> %s <==\n%s\n", p.Name, p.LogTail(6000))
		}
	}
	return code, nil
}
