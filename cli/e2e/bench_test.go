package e2e

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/ferrycd/ferry/cli/internal/cmd"
	"github.com/ferrycd/ferry/cli/internal/objects"
)

// BenchmarkDiffKustomization50 times `ferry diff ks` of an applied
// Kustomization of 50 objects (40 ConfigMaps, 10 Secrets), the source
// artifact cached after the first run: build, 50 dry-runs, render.
func BenchmarkDiffKustomization50(b *testing.B) {
	ns := newNamespace(b)
	files := map[string]string{}
	for i := range 40 {
		files[fmt.Sprintf("apps/cm-%02d.yaml", i)] = configMapYAML(fmt.Sprintf("cm-%02d", i), "v1")
	}
	for i := range 10 {
		files[fmt.Sprintf("apps/secret-%02d.yaml", i)] = secretYAML(fmt.Sprintf("secret-%02d", i), "s3cr3t")
	}
	head, err := gitSrv.Commit(ns+"/fleet.git", "main", "fifty", files)
	if err != nil {
		b.Fatal(err)
	}
	apply(b, gitRepositoryYAML(ns, "fleet", gitSrv.URL(ns+"/fleet.git"))+"---\n"+kustomizationYAML(ns, "apps", "./apps"))
	waitReady(b, objects.Kustomization, ns, "apps", "main@sha1:"+head)
	benchFerry(b, 0, "diff", "ks", "apps", "-n", ns)
}

// BenchmarkDiffHelmRelease times `ferry diff hr` of an installed release
// of one ConfigMap with new values: chart fetch (cached), values, render,
// dry-run, the current release's manifest.
func BenchmarkDiffHelmRelease(b *testing.B) {
	ns := newNamespace(b)
	installHello(b, ns)
	values := writeFiles(b, map[string]string{"v.yaml": "greeting: v2\n"}) + "/v.yaml"
	benchFerry(b, 1, "diff", "hr", "hello", "-n", ns, "--values", values)
}

// benchFerry runs ferry b.N times, each expected to exit with code.
func benchFerry(b *testing.B, code int, args ...string) {
	args = append([]string{"--kubeconfig=" + testCluster.KubeconfigPath}, args...)
	var errOut strings.Builder
	if got := cmd.Execute(args, strings.NewReader(""), io.Discard, &errOut); got != code {
		b.Fatalf("ferry %v exited %d: %s", args, got, errOut.String())
	}
	b.ResetTimer()
	for b.Loop() {
		if got := cmd.Execute(args, strings.NewReader(""), io.Discard, io.Discard); got != code {
			b.Fatalf("ferry %v exited %d", args, got)
		}
	}
}
