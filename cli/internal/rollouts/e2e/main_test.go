// Package e2e runs `ferry rollout` and `ferry get` against a real API
// server with Ferry's CRDs, on Rollouts whose status the tests write as a
// rollout-controller would: the CLI only reads status and makes the writes
// of Argo Rollouts' kubectl plugin, so no controller needs to run. The
// tests assert on the output a person reads and on the exact object state
// after each write, as the cluster admin and as users whose RBAC denies it.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferrycd/ferry/cli/internal/cmd"
	"github.com/ferrycd/ferry/cli/internal/kube"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/harness"
)

var testCluster *cluster.Cluster

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	c, err := cluster.Start(cluster.Options{Scheme: kube.Scheme})
	if err != nil {
		return 0, err
	}
	testCluster = c
	defer func() { _ = c.Stop() }()
	// The users of the RBAC tests are ServiceAccounts there.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: harness.Namespace}}
	if err := c.Client.Create(context.Background(), ns); err != nil {
		return 0, err
	}
	return m.Run(), nil
}

// result is one ferry run.
type result struct {
	out, err string
	code     int
}

func (r result) all() string { return r.out + r.err }

// ferry runs the CLI in-process with kubeconfig, as a person would from a
// shell.
func ferry(t testing.TB, kubeconfig string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cmd.Execute(append([]string{"--kubeconfig=" + kubeconfig}, args...), strings.NewReader(""), &out, &errOut)
	t.Logf("ferry %s -> %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return result{out: out.String(), err: errOut.String(), code: code}
}

// admin runs the CLI as the cluster admin.
func admin(t testing.TB, args ...string) result {
	t.Helper()
	return ferry(t, testCluster.KubeconfigPath, args...)
}
