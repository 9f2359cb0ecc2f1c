package devenv

import (
	"fmt"
	"path/filepath"
	"strings"
)

// NewGreeting is what the printed push instructions change the sample
// app's greeting to.
const NewGreeting = "hello-again"

// AccessCommands are the printed shell lines that point kubectl at the
// local cluster and look at what the sample applied.
func (e *Env) AccessCommands() []string {
	kubectl := e.kubectl()
	return []string{
		"export KUBECONFIG=" + e.Kubeconfig,
		kubectl + " get fluxcd -A",
		kubectl + " get deploy,svc,cm,secret -n apps",
		kubectl + " get helmreleases -A",
	}
}

// PushCommands are the printed shell lines that clone the sample
// repository, push a change and wait until the cluster holds it. They run
// after AccessCommands' export, in an empty directory; the devenv test runs
// them exactly as printed, with the real git binary, so what `make dev`
// tells a person to type is known to work.
func (e *Env) PushCommands() []string {
	kubectl := e.kubectl()
	return []string{
		"git clone " + e.Git.URL(SampleRepo) + " fleet && cd fleet",
		"sed -i 's/hello from Ferry/" + NewGreeting + "/' apps/base/config.yaml",
		`git commit -am "change greeting" && git push`,
		kubectl + ` annotate gitrepository fleet -n ferry-system --overwrite reconcile.fluxcd.io/requestedAt="$(date +%s)"`,
		kubectl + " wait cm/web -n apps --for=jsonpath='{.data.greeting}'=" + NewGreeting + " --timeout=3m",
	}
}

// Instructions is what `make dev` prints once the sample is Ready, below
// status (the `kubectl get fluxcd -A` output).
func (e *Env) Instructions(status string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s\nFerry is running on a local cluster, reconciling the sample repository.\n\n", status)
	for _, c := range e.AccessCommands() {
		fmt.Fprintf(&b, "  %s\n", c)
	}
	b.WriteString("\nPush a change and watch it apply (the GitRepository polls every minute;\n" +
		"the reconcile annotation makes it fetch at once):\n\n")
	for _, c := range e.PushCommands() {
		fmt.Fprintf(&b, "  %s\n", c)
	}
	fmt.Fprintf(&b, "\nController logs: %s\nPress Ctrl-C to stop; everything started here is cleaned up.\n",
		filepath.Join(e.Work, "*.log"))
	return b.String()
}

func (e *Env) kubectl() string {
	return filepath.Join(e.Cluster.BinDir, "kubectl")
}
