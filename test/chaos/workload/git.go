package workload

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

// Change is what a commit does to the fleet. Any mix is allowed; the zero
// Change is an empty commit (a new revision with nothing to apply).
type Change struct {
	// Apply changes the data of every application ConfigMap.
	Apply bool
	// Prune takes the last ConfigMap of every pruning path out of Git, or
	// puts it back when it is out.
	Prune bool
	// Upgrade changes every HelmRelease's values, so each release is
	// upgraded.
	Upgrade bool
}

// want is what Git says about one object.
type want struct {
	kind, name string
	// owner is the Kustomization that applies it; empty for the objects a
	// Helm release renders.
	owner string
	// gen is the "gen" value its data (ConfigMap) or values (HelmRelease)
	// must hold.
	gen string
}

func key(kind, name string) string { return kind + "/" + name }

// expected is every object Git holds, plus the objects the releases render,
// by key. Callers hold mu.
func (w *Workload) expected() map[string]want {
	out := map[string]want{}
	gen, hrGen := strconv.Itoa(w.gen), strconv.Itoa(w.hrGen)
	for i := range w.size.Kustomizations {
		for o := range ObjectsPerPath {
			if o == ObjectsPerPath-1 && w.pruned && prunes(i) {
				continue
			}
			n := cmName(i, o)
			out[key("ConfigMap", n)] = want{kind: "ConfigMap", name: n, owner: ksName(i), gen: gen}
		}
	}
	for j := range w.size.HelmReleases {
		out[key("HelmRelease", hrName(j))] = want{kind: "HelmRelease", name: hrName(j), owner: ReleasesName, gen: hrGen}
		for _, r := range releaseObjects {
			n := hrName(j) + "-" + r
			out[key("ConfigMap", n)] = want{kind: "ConfigMap", name: n, gen: hrGen}
		}
	}
	return out
}

func cmName(i, o int) string { return fmt.Sprintf("%s-%c", ksName(i), 'a'+o) }

// files is the whole tree Git holds for the current state; paths absent
// from it are deleted by the commit. Callers hold mu.
func (w *Workload) files() map[string]string {
	files := map[string]string{}
	for i := range w.size.Kustomizations {
		for o := range ObjectsPerPath {
			files[fmt.Sprintf("apps/%s/%c.yaml", ksName(i), 'a'+o)] = ""
		}
	}
	for _, wt := range w.expected() {
		switch {
		case wt.kind == "ConfigMap" && wt.owner != "":
			files[fmt.Sprintf("apps/%s/%s.yaml", wt.owner, wt.name[len(wt.owner)+1:])] = fmt.Sprintf(
				"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  gen: %q\n  owner: %s\n", wt.name, wt.gen, wt.owner)
		case wt.kind == "HelmRelease":
			files["releases/"+wt.name+".yaml"] = fmt.Sprintf(`apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: %s
spec:
  interval: 10m
  chart:
    spec:
      chart: %s
      version: %q
      sourceRef:
        kind: HelmRepository
        name: %s
  values:
    gen: %q
`, wt.name, chartName, chartVersion, HelmRepositoryName, wt.gen)
		}
	}
	return files
}

// commit writes the current state to Git and records it; callers hold mu
// or are Deploy.
func (w *Workload) commit(message string) (string, error) {
	files := w.files()
	// Paths already absent must not be removed again: the Git server's
	// worktree refuses to remove what it does not hold.
	for p, content := range files {
		if content == "" && !w.inGit(p) {
			delete(files, p)
		}
	}
	at := time.Now()
	hash, err := w.env.Git.Commit(w.repo, "main", message, files)
	if err != nil {
		return "", err
	}
	keys := map[string]bool{}
	for k := range w.expected() {
		keys[k] = true
	}
	w.history = append(w.history, snapshot{at: at, keys: keys})
	w.head = "main@sha1:" + hash
	return w.head, nil
}

// inGit says whether the last commit holds path.
func (w *Workload) inGit(path string) bool {
	if len(w.history) == 0 {
		return false
	}
	var i, o int
	var c rune
	if _, err := fmt.Sscanf(path, "apps/ks-%d/%c.yaml", &i, &c); err != nil {
		return true
	}
	o = int(c - 'a')
	return w.history[len(w.history)-1].keys[key("ConfigMap", cmName(i, o))]
}

// Commit makes change in Git and asks the GitRepository to fetch it at
// once, so the fault that follows meets the controllers mid-work. It
// returns the new revision.
func (w *Workload) Commit(ctx context.Context, change Change) (string, error) {
	w.mu.Lock()
	if change.Apply {
		w.gen++
	}
	if change.Upgrade {
		w.hrGen++
	}
	if change.Prune {
		w.pruned = !w.pruned
	}
	head, err := w.commit(fmt.Sprintf("chaos: %+v", change))
	w.mu.Unlock()
	if err != nil {
		return "", err
	}
	src := &sourcev1.GitRepository{}
	src.Name, src.Namespace = GitRepositoryName, w.env.Namespace
	_, err = RequestReconcile(ctx, w.env.Client, client.Object(src))
	return head, err
}
