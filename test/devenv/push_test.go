package devenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/harness"
)

// TestPrintedPushInstructionsWork runs the clone, commit and push commands
// `make dev` prints, exactly as printed, with the real git binary and
// kubectl, in a shell the way a person would paste them, and sees the change
// applied to the cluster.
func TestPrintedPushInstructionsWork(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	g.Expect(env.WaitReady(ctx, 3*time.Minute)).To(Succeed())
	_, err := exec.LookPath("git")
	g.Expect(err).NotTo(HaveOccurred(), "the printed instructions need the git binary")

	printed := env.Instructions("")
	export := env.AccessCommands()[0]
	push := env.PushCommands()
	lines := []string{}
	for _, c := range append([]string{export}, push...) {
		g.Expect(printed).To(ContainSubstring("  "+c+"\n"), "the test runs what is printed")
		// Stop at the first failing line, as a person would.
		lines = append(lines, "{ "+c+"; } || exit 1")
	}
	dir := t.TempDir()
	sh := exec.Command("sh", "-c", strings.Join(lines, "\n"))
	sh.Dir = dir
	// A person's own git identity; no user or system git configuration.
	sh.Env = append(os.Environ(), "HOME="+t.TempDir(), "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Dev", "GIT_AUTHOR_EMAIL=dev@ferry.local",
		"GIT_COMMITTER_NAME=Dev", "GIT_COMMITTER_EMAIL=dev@ferry.local")
	out, err := sh.CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), "the printed commands failed:\n%s", out)

	head, err := exec.Command("git", "-C", filepath.Join(dir, "fleet"), "rev-parse", "HEAD").Output()
	g.Expect(err).NotTo(HaveOccurred())
	var repo sourcev1.GitRepository
	g.Expect(env.Cluster.Client.Get(ctx, client.ObjectKey{Namespace: harness.Namespace, Name: "fleet"}, &repo)).To(Succeed())
	g.Expect(repo.Status.Artifact).NotTo(BeNil())
	g.Expect(repo.Status.Artifact.Revision).To(Equal("main@sha1:"+strings.TrimSpace(string(head))), "the pushed commit is the one fetched")
	var cm corev1.ConfigMap
	g.Expect(env.Cluster.Client.Get(ctx, client.ObjectKey{Namespace: "apps", Name: "web"}, &cm)).To(Succeed())
	g.Expect(cm.Data["greeting"]).To(Equal(NewGreeting))
}
