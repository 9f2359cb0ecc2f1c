package bounds

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/suite"
)

// timeout bounds every wait; the big cases clone, archive and extract tens
// of MiB on a busy machine.
const timeout = 3 * time.Minute

func newNamespace(t *testing.T) string {
	t.Helper()
	ns := suite.NewNamespace(t, testCluster.Client, "bounds-")
	t.Cleanup(func() {
		_ = testCluster.Client.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	})
	return ns
}

// workTree is a Git work tree whose commits are pushed to a repository of
// the test git server. It uses the git command line, which streams files
// from disk, so a 50 MiB file never sits in the test's memory.
type workTree struct {
	t        *testing.T
	Dir      string
	repoPath string
}

// newWorkTree starts repo (e.g. "ns/app.git") on the git server, with
// branch main.
func newWorkTree(t *testing.T, repo string) *workTree {
	t.Helper()
	w := &workTree{t: t, Dir: t.TempDir(), repoPath: repo}
	bare := filepath.Join(gitSrv.Root(), repo)
	w.git("", "init", "--quiet", "--bare", "--initial-branch=main", bare)
	w.git(w.Dir, "init", "--quiet", "--initial-branch=main")
	w.git(w.Dir, "remote", "add", "origin", bare)
	return w
}

func (w *workTree) git(dir string, args ...string) string {
	w.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=Ferry Test", "-c", "user.email=test@ferry.local"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		w.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// write writes a small file of the work tree.
func (w *workTree) write(path, content string) {
	w.t.Helper()
	w.stream(path, func(out io.Writer) error {
		_, err := io.WriteString(out, content)
		return err
	})
}

// stream writes a file of the work tree through fill, buffered, so its
// size does not have to fit in memory.
func (w *workTree) stream(path string, fill func(io.Writer) error) {
	w.t.Helper()
	full := filepath.Join(w.Dir, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		w.t.Fatal(err)
	}
	f, err := os.Create(full)
	if err != nil {
		w.t.Fatal(err)
	}
	defer f.Close()
	b := bufio.NewWriterSize(f, 1<<20)
	if err := fill(b); err != nil {
		w.t.Fatal(err)
	}
	if err := b.Flush(); err != nil {
		w.t.Fatal(err)
	}
}

func (w *workTree) remove(path string) {
	w.t.Helper()
	if err := os.Remove(filepath.Join(w.Dir, filepath.FromSlash(path))); err != nil {
		w.t.Fatal(err)
	}
}

// commit commits everything in the work tree, pushes it and returns the
// revision a GitRepository of branch main reports for it.
func (w *workTree) commit(message string) string {
	w.t.Helper()
	w.git(w.Dir, "add", "--all")
	w.git(w.Dir, "commit", "--quiet", "-m", message)
	w.git(w.Dir, "push", "--quiet", "origin", "main")
	return "main@sha1:" + w.git(w.Dir, "rev-parse", "HEAD")
}

func (w *workTree) url() string { return gitSrv.URL(w.repoPath) }

// configMap is a ConfigMap manifest named name with one data entry.
func configMap(name, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  value: %q\n", name, value)
}

func gitRepository(ns, name, url string) *sourcev1.GitRepository {
	return &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: sourcev1.GitRepositorySpec{URL: url, Interval: metav1.Duration{Duration: time.Hour},
			Timeout:   &metav1.Duration{Duration: 2 * time.Minute},
			Reference: &sourcev1.GitRepositoryRef{Branch: "main"}},
	}
}

// kustomization applies path of the GitRepository source into its own
// namespace, pruning, with an hour's interval: a new revision reaches it
// through the source watch.
func kustomization(ns, name, source, path string) *kustomizev1.Kustomization {
	return &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: kustomizev1.KustomizationSpec{
			Interval: metav1.Duration{Duration: time.Hour}, Path: path, Prune: true, TargetNamespace: ns,
			Timeout:   &metav1.Duration{Duration: 2 * time.Minute},
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: source},
		},
	}
}

// requestReconcile asks for a reconcile of obj at once, as `flux reconcile`
// does, so a test does not wait for an interval.
func requestReconcile(t *testing.T, obj client.Object) {
	t.Helper()
	suite.RequestReconcile(t, testCluster.Client, obj, 30*time.Second)
}

// conditioned is an object with status conditions.
type conditioned interface {
	client.Object
	GetConditions() []metav1.Condition
}

// ready fetches obj and returns its Ready condition (empty when unset).
func ready(g Gomega, obj conditioned) metav1.Condition {
	g.Expect(testCluster.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)).To(Succeed())
	if c := apimeta.FindStatusCondition(obj.GetConditions(), fluxmeta.ReadyCondition); c != nil {
		return *c
	}
	return metav1.Condition{}
}

// warningEvent waits for a Warning event of reason on obj whose message
// contains every one of want, as `kubectl describe` shows it.
func warningEvent(t *testing.T, obj client.Object, reason string, want ...string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		events := &corev1.EventList{}
		g.Expect(testCluster.Client.List(context.Background(), events, client.InNamespace(obj.GetNamespace()))).To(Succeed())
		var seen []string
		for _, e := range events.Items {
			if e.InvolvedObject.Name != obj.GetName() || e.Type != corev1.EventTypeWarning || e.Reason != reason {
				continue
			}
			seen = append(seen, e.Message)
			if containsAll(e.Message, want) {
				return
			}
		}
		g.Expect(seen).To(ContainElement(ContainSubstring(want[0])), "no Warning %s event on %s with %q", reason, obj.GetName(), want)
		g.Expect(false).To(BeTrue(), "Warning %s events on %s lack one of %q: %q", reason, obj.GetName(), want, seen)
	}, timeout, 500*time.Millisecond).Should(Succeed())
}

func containsAll(s string, want []string) bool {
	for _, w := range want {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// ownedConfigMaps lists the names of the ConfigMaps in ns that the
// Kustomization name applied, by its owner label.
func ownedConfigMaps(g Gomega, ns, name string) []string {
	list := &corev1.ConfigMapList{}
	g.Expect(testCluster.Client.List(context.Background(), list, client.InNamespace(ns),
		client.MatchingLabels{"kustomize.toolkit.fluxcd.io/name": name})).To(Succeed())
	names := make([]string, 0, len(list.Items))
	for _, cm := range list.Items {
		names = append(names, cm.Name)
	}
	return names
}
