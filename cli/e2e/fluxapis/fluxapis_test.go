// Package fluxapis checks that ferry get, tree and diff work against the
// Flux APIs alone: no Ferry controller runs; the test writes the objects
// and the status Flux's controllers write (a source with an artifact
// served over HTTP, a Kustomization with its inventory, the applied
// objects with kustomize-controller's field manager and owner labels) and
// the CLI reads them.
package fluxapis

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/ferrycd/ferry/cli/internal/cmd"
	"github.com/ferrycd/ferry/cli/internal/kube"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/pkg/artifact/archive"
	"github.com/ferrycd/ferry/test/cluster"
)

var testCluster *cluster.Cluster

func TestMain(m *testing.M) {
	c, err := cluster.Start(cluster.Options{Scheme: kube.Scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testCluster = c
	code := m.Run()
	_ = c.Stop()
	os.Exit(code)
}

func ferry(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cmd.Execute(append([]string{"--kubeconfig=" + testCluster.KubeconfigPath}, args...), strings.NewReader(""), &out, &errOut)
	t.Logf("ferry %s -> %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return out.String() + errOut.String(), code
}

// artifact serves a tar.gz of files as source-controller does and returns
// its status.artifact.
func artifact(t *testing.T, files map[string]string, revision string) *fluxmeta.Artifact {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := archive.Build(&b, dir, nil); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(data) }))
	t.Cleanup(srv.Close)
	sum := sha256.Sum256(data)
	size := int64(len(data))
	return &fluxmeta.Artifact{Path: "gitrepository/x.tar.gz", URL: srv.URL + "/gitrepository/x.tar.gz", Revision: revision,
		Digest: "sha256:" + hex.EncodeToString(sum[:]), LastUpdateTime: metav1.Now(), Size: &size}
}

func ready(status metav1.ConditionStatus, reason, message string) []metav1.Condition {
	return []metav1.Condition{{Type: fluxmeta.ReadyCondition, Status: status, Reason: reason, Message: message,
		LastTransitionTime: metav1.Now(), ObservedGeneration: 1}}
}

// applyAsFlux applies an object as Flux's kustomize-controller does:
// server-side apply, its field manager and owner labels.
func applyAsFlux(t *testing.T, y, ks, ns string) {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(y), &obj.Object); err != nil {
		t.Fatal(err)
	}
	obj.SetNamespace(ns)
	obj.SetLabels(map[string]string{"kustomize.toolkit.fluxcd.io/name": ks, "kustomize.toolkit.fluxcd.io/namespace": ns})
	if err := testCluster.Client.Patch(context.Background(), obj, client.Apply, client.FieldOwner("kustomize-controller"), client.ForceOwnership); err != nil {
		t.Fatal(err)
	}
}

func TestGetTreeDiffOnFluxObjects(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "flux-"}}
	g.Expect(testCluster.Client.Create(ctx, ns)).To(Succeed())
	n := ns.Name

	cm := func(name, v string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  value: %s\n", name, v)
	}
	files := map[string]string{"web.yaml": cm("web", "v1"), "api.yaml": cm("api", "v1")}
	rev := "main@sha1:0123456789abcdef0123456789abcdef01234567"
	src := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: n},
		Spec: sourcev1.GitRepositorySpec{URL: "https://example.invalid/podinfo", Interval: metav1.Duration{Duration: time.Hour},
			Reference: &sourcev1.GitRepositoryRef{Branch: "main"}},
	}
	g.Expect(testCluster.Client.Create(ctx, src)).To(Succeed())
	src.Status.Artifact = artifact(t, files, rev)
	src.Status.Conditions = ready(metav1.ConditionTrue, "Succeeded", "stored artifact for revision '"+rev+"'")
	src.Status.ObservedGeneration = 1
	g.Expect(testCluster.Client.Status().Update(ctx, src)).To(Succeed())

	for _, y := range files {
		applyAsFlux(t, y, "apps", n)
	}
	ks := &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Name: "apps", Namespace: n},
		Spec: kustomizev1.KustomizationSpec{Interval: metav1.Duration{Duration: time.Hour}, Path: "./", Prune: true,
			TargetNamespace: n, SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "podinfo"}},
	}
	g.Expect(testCluster.Client.Create(ctx, ks)).To(Succeed())
	ks.Status = kustomizev1.KustomizationStatus{
		ObservedGeneration: 1, LastAppliedRevision: rev, LastAttemptedRevision: rev,
		Conditions: ready(metav1.ConditionTrue, "ReconciliationSucceeded", "Applied revision: "+rev),
		Inventory: &kustomizev1.ResourceInventory{Entries: []kustomizev1.ResourceRef{
			{ID: n + "_api__ConfigMap", Version: "v1"}, {ID: n + "_web__ConfigMap", Version: "v1"},
		}},
	}
	g.Expect(testCluster.Client.Status().Update(ctx, ks)).To(Succeed())
	broken := &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Name: "broken", Namespace: n},
		Spec: kustomizev1.KustomizationSpec{Interval: metav1.Duration{Duration: time.Hour}, Path: "./nope",
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "podinfo"}},
	}
	g.Expect(testCluster.Client.Create(ctx, broken)).To(Succeed())
	broken.Status.Conditions = ready(metav1.ConditionFalse, "BuildFailed", "kustomization path not found: stat /tmp/kustomization-1/nope: no such file or directory")
	g.Expect(testCluster.Client.Status().Update(ctx, broken)).To(Succeed())

	out, code := ferry(t, "get", "-n", n)
	g.Expect(code).To(Equal(0))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	g.Expect(lines).To(HaveLen(4))
	g.Expect(lines[1]).To(MatchRegexp(`^Kustomization/broken\s+False\s+false\s+\S+\s+kustomization path not found`))
	g.Expect(lines[2]).To(MatchRegexp(`^GitRepository/podinfo\s+True\s+` + rev))
	g.Expect(lines[3]).To(MatchRegexp(`^Kustomization/apps\s+True\s+` + rev))

	out, code = ferry(t, "tree", "ks", "apps", "-n", n)
	g.Expect(code).To(Equal(0))
	g.Expect(strings.Split(strings.TrimSpace(out), "\n")).To(Equal([]string{
		"Kustomization/" + n + "/apps Current",
		"├── ConfigMap/" + n + "/api Current",
		"└── ConfigMap/" + n + "/web Current",
	}))

	out, code = ferry(t, "diff", "ks", "apps", "-n", n)
	g.Expect(code).To(Equal(0), out)
	g.Expect(out).To(ContainSubstring("0 created, 0 changed, 0 replaced, 0 pruned, 2 unchanged, 0 skipped (against " + rev + ")"))

	web := &corev1.ConfigMap{}
	g.Expect(testCluster.Client.Get(ctx, client.ObjectKey{Namespace: n, Name: "web"}, web)).To(Succeed())
	patch := client.MergeFrom(web.DeepCopy())
	web.Data["value"] = "by-hand"
	g.Expect(testCluster.Client.Patch(ctx, web, patch)).To(Succeed())
	out, code = ferry(t, "diff", "ks", "apps", "-n", n)
	g.Expect(code).To(Equal(1), out)
	g.Expect(out).To(ContainSubstring("~ ConfigMap/" + n + "/web changed (drift"))
	g.Expect(out).To(ContainSubstring("-  value: by-hand\n+  value: v1\n"))
}
