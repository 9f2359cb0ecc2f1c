// Package e2e runs the ferry command against a local cluster with Ferry's
// four controllers running as processes under their own RBAC (test/harness)
// and a real git server, and checks what a person sees: the output and the
// exit code of each command.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferrycd/ferry/cli/internal/cmd"
	"github.com/ferrycd/ferry/cli/internal/kube"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/gitserver"
	"github.com/ferrycd/ferry/test/harness"
)

var (
	testCluster *cluster.Cluster
	gitSrv      *gitserver.Server
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
	c, err := cluster.Start(cluster.Options{Scheme: kube.Scheme})
	if err != nil {
		return 0, err
	}
	testCluster = c
	defer func() { _ = c.Stop() }()
	work, err := os.MkdirTemp("", "ferry-cli-e2e-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(work)
	names := []string{"source-controller", "kustomize-controller", "helm-controller"}
	if err := harness.Build(work, names...); err != nil {
		return 0, err
	}
	if err := harness.InstallRBAC(c, names...); err != nil {
		return 0, err
	}
	if gitSrv, err = gitserver.Start(); err != nil {
		return 0, err
	}
	defer gitSrv.Close()
	_, extra := harness.Args(work)
	var procs []*harness.Process
	defer func() {
		for _, p := range procs {
			p.Stop()
		}
	}()
	for _, name := range names {
		// No notification-controller runs: events go to the API server only.
		args := withoutEventsAddr(extra[name])
		p, err := harness.Start(ctx, c, work, work, name, args...)
		if err != nil {
			return 0, err
		}
		procs = append(procs, p)
	}
	for _, p := range procs {
		if err := p.WaitReady(60e9); err != nil {
			return 0, err
		}
	}
	code := m.Run()
	if code != 0 {
		for _, p := range procs {
			if out, err := os.ReadFile(p.LogPath); err == nil {
				s := string(out)
				if len(s) > 4000 {
					s = s[len(s)-4000:]
				}
				fmt.Fprintf(os.Stderr, "==> %s <==\n%s\n", p.Name, s)
			}
		}
	}
	return code, nil
}

func withoutEventsAddr(args []string) []string {
	var out []string
	for _, a := range args {
		if !strings.HasPrefix(a, "--events-addr=") {
			out = append(out, a)
		}
	}
	return out
}

// result is one ferry run.
type result struct {
	out, err string
	code     int
}

// all is everything the run printed.
func (r result) all() string { return r.out + r.err }

// ferry runs the CLI in-process as the cluster admin would from a shell.
func ferry(t testing.TB, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cmd.Execute(append([]string{"--kubeconfig=" + testCluster.KubeconfigPath}, args...), strings.NewReader(""), &out, &errOut)
	t.Logf("ferry %s -> %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return result{out: out.String(), err: errOut.String(), code: code}
}

func newNamespace(t testing.TB) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "cli-"}}
	if err := testCluster.Client.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = testCluster.Client.Delete(context.Background(), ns) })
	return ns.Name
}

// writeFiles writes files under a new temporary directory and returns it.
func writeFiles(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// apply applies manifests with kubectl as a user would.
func apply(t testing.TB, manifests string) {
	t.Helper()
	if _, err := testCluster.Kubectl([]byte(manifests), "apply", "--validate=strict", "-f", "-"); err != nil {
		t.Fatal(err)
	}
}
