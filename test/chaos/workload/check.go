package workload

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
)

// Report is what Check found.
type Report struct {
	// ConvergeTime is what the last WaitConverged measured.
	ConvergeTime time.Duration
	// Objects is how many objects Git (and the releases) hold.
	Objects int
	// ObjectsLost counts objects Git holds that are missing from the
	// cluster.
	ObjectsLost int
	// WrongPrunes counts deletions, seen by the watch since the previous
	// Check, of objects every commit until then held.
	WrongPrunes int
	// Drifted counts objects whose content differs from Git's, or whose
	// owner labels name the wrong Kustomization.
	Drifted int
	// InventoryMismatches counts Kustomizations whose inventory differs from
	// the objects that carry their owner labels, or from what Git holds for
	// them, or that are not Ready at Git's head.
	InventoryMismatches int
	// ReleaseMismatches counts HelmReleases whose release is not deployed at
	// the version the status names, or that are not Ready at their
	// generation.
	ReleaseMismatches int
	// Problems names the first problems found, for a failing test to print.
	Problems []string
}

// OK says whether the cluster equals Git and nothing was lost or wrongly
// pruned.
func (r Report) OK() bool {
	return r.ObjectsLost == 0 && r.WrongPrunes == 0 && r.Drifted == 0 && r.InventoryMismatches == 0 && r.ReleaseMismatches == 0
}

// String is the report's one figure line.
func (r Report) String() string {
	return fmt.Sprintf("converge=%s objects=%d lost=%d wrongPrunes=%d drifted=%d inventoryMismatches=%d releaseMismatches=%d",
		r.ConvergeTime.Round(100*time.Millisecond), r.Objects, r.ObjectsLost, r.WrongPrunes, r.Drifted, r.InventoryMismatches, r.ReleaseMismatches)
}

const maxProblems = 20

func (r *Report) problem(counter *int, format string, args ...any) {
	*counter++
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
}

// Check compares the cluster with Git and judges the deletions the watch
// saw since the previous Check (or Deploy).
func (w *Workload) Check(ctx context.Context) (Report, error) {
	r, err := w.compare(ctx)
	if err != nil {
		return r, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	r.ConvergeTime = w.converge
	for _, d := range w.watch.take() {
		if w.heldThroughout(d) {
			r.problem(&r.WrongPrunes, "%s was deleted at %s while Git held it", d.key, d.at.Format(time.TimeOnly))
		}
	}
	return r, nil
}

// heldThroughout says whether every commit made before the deletion held
// the object: only then did no revision a controller may still have been
// applying ask for it to go. Callers hold mu.
func (w *Workload) heldThroughout(d deletion) bool {
	held := false
	for _, s := range w.history {
		if s.at.After(d.at) {
			break
		}
		if !s.keys[d.key] {
			return false
		}
		held = true
	}
	return held
}

// WaitConverged waits until the cluster equals Git (every check but the
// deletions passes) and returns the time since start, which Check reports;
// on timeout the error carries the problems still left.
func (w *Workload) WaitConverged(ctx context.Context, start time.Time, timeout time.Duration) (time.Duration, error) {
	deadline := time.Now().Add(timeout)
	for {
		r, err := w.compare(ctx)
		if err == nil && r.OK() {
			d := time.Since(start)
			w.mu.Lock()
			w.converge = d
			w.mu.Unlock()
			return d, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return 0, fmt.Errorf("not converged after %s: %w", timeout, err)
			}
			return 0, fmt.Errorf("not converged after %s: %s: %s", timeout, r, strings.Join(r.Problems, "; "))
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// compare checks the cluster against Git: content and owner labels,
// inventories, and Helm releases.
func (w *Workload) compare(ctx context.Context) (Report, error) {
	w.mu.Lock()
	exp, head := w.expected(), w.head
	w.mu.Unlock()
	r := Report{Objects: len(exp)}
	c, ns := w.env.Client, w.env.Namespace
	var cms corev1.ConfigMapList
	if err := c.List(ctx, &cms, client.InNamespace(ns)); err != nil {
		return r, err
	}
	var hrs helmv2.HelmReleaseList
	if err := c.List(ctx, &hrs, client.InNamespace(ns)); err != nil {
		return r, err
	}
	var kss kustomizev1.KustomizationList
	if err := c.List(ctx, &kss, client.InNamespace(ns)); err != nil {
		return r, err
	}
	var secrets corev1.SecretList
	if err := c.List(ctx, &secrets, client.InNamespace(ns), client.MatchingLabels{"owner": "helm"}); err != nil {
		return r, err
	}

	// owned maps each Kustomization to the inventory ids of the objects that
	// carry its owner labels.
	owned := map[string][]string{}
	found := map[string]bool{}
	for _, cm := range cms.Items {
		w.compareObject(&r, exp, &cm, "ConfigMap", "", cm.Data["gen"], owned)
		found[key("ConfigMap", cm.Name)] = true
	}
	for i := range hrs.Items {
		hr := &hrs.Items[i]
		w.compareObject(&r, exp, hr, "HelmRelease", helmv2.GroupVersion.Group, valuesGen(hr), owned)
		found[key("HelmRelease", hr.Name)] = true
		if _, inGit := exp[key("HelmRelease", hr.Name)]; inGit {
			checkRelease(&r, hr, secrets.Items)
		}
	}
	for _, k := range sortedKeys(exp) {
		if !found[k] {
			r.problem(&r.ObjectsLost, "%s is in Git but not in the cluster", k)
		}
	}

	// gitIDs maps each Kustomization to the ids Git holds for it.
	gitIDs := map[string][]string{}
	for _, wt := range exp {
		if wt.owner != "" {
			gitIDs[wt.owner] = append(gitIDs[wt.owner], inventoryID(ns, wt.name, groupOf(wt.kind), wt.kind))
		}
	}
	for _, k := range kss.Items {
		var inv []string
		if k.Status.Inventory != nil {
			for _, e := range k.Status.Inventory.Entries {
				inv = append(inv, e.ID)
			}
		}
		switch {
		case !conditions.IsReady(&k) || k.Status.LastAppliedRevision != head || k.Status.ObservedGeneration != k.Generation:
			r.problem(&r.InventoryMismatches, "Kustomization %s is not Ready at %s: applied %q: %s", k.Name, head,
				k.Status.LastAppliedRevision, conditions.GetMessage(&k, "Ready"))
		case !sameSet(inv, owned[k.Name]):
			r.problem(&r.InventoryMismatches, "Kustomization %s: inventory %v, objects with its owner labels %v", k.Name, inv, owned[k.Name])
		case !sameSet(inv, gitIDs[k.Name]):
			r.problem(&r.InventoryMismatches, "Kustomization %s: inventory %v, Git holds %v", k.Name, inv, gitIDs[k.Name])
		}
	}
	return r, nil
}

// compareObject checks one object against Git and files it under the
// Kustomization its owner labels name.
func (w *Workload) compareObject(r *Report, exp map[string]want, obj client.Object, kind, group, gen string, owned map[string][]string) {
	ns := w.env.Namespace
	labels := obj.GetLabels()
	owner := labels[OwnerNameLabel]
	if owner != "" && labels[OwnerNamespaceLabel] == ns {
		owned[owner] = append(owned[owner], inventoryID(ns, obj.GetName(), group, kind))
	}
	wt, ok := exp[key(kind, obj.GetName())]
	if !ok {
		return
	}
	if gen != wt.gen {
		r.problem(&r.Drifted, "%s/%s has gen %q, Git says %q", kind, obj.GetName(), gen, wt.gen)
	}
	if owner != wt.owner {
		r.problem(&r.Drifted, "%s/%s is labelled as owned by %q, Git's owner is %q", kind, obj.GetName(), owner, wt.owner)
	}
}

// checkRelease checks that hr is Ready at its generation and that Helm's
// storage holds its release deployed at the version the status names, with
// no other version deployed or left pending.
func checkRelease(r *Report, hr *helmv2.HelmRelease, secrets []corev1.Secret) {
	if !conditions.IsReady(hr) || hr.Status.ObservedGeneration != hr.Generation || len(hr.Status.History) == 0 {
		r.problem(&r.ReleaseMismatches, "HelmRelease %s is not Ready at generation %d (observed %d, %d history entries): %s",
			hr.Name, hr.Generation, hr.Status.ObservedGeneration, len(hr.Status.History), conditions.GetMessage(hr, "Ready"))
		return
	}
	latest := hr.Status.History[0]
	deployed := 0
	for _, s := range secrets {
		if s.Labels["name"] != hr.Name {
			continue
		}
		switch st := s.Labels["status"]; {
		case st == "deployed":
			deployed++
			if s.Labels["version"] != strconv.Itoa(latest.Version) {
				r.problem(&r.ReleaseMismatches, "release %s: version %s is deployed, the status says %d", hr.Name, s.Labels["version"], latest.Version)
			}
		case strings.HasPrefix(st, "pending"):
			r.problem(&r.ReleaseMismatches, "release %s: version %s is left %s", hr.Name, s.Labels["version"], st)
		}
	}
	if deployed != 1 || latest.Status != "deployed" {
		r.problem(&r.ReleaseMismatches, "release %s: %d versions deployed, status history says v%d %s", hr.Name, deployed, latest.Version, latest.Status)
	}
}

func valuesGen(hr *helmv2.HelmRelease) string {
	if hr.Spec.Values == nil {
		return ""
	}
	var v struct {
		Gen string `json:"gen"`
	}
	_ = json.Unmarshal(hr.Spec.Values.Raw, &v)
	return v.Gen
}

func groupOf(kind string) string {
	if kind == "HelmRelease" {
		return helmv2.GroupVersion.Group
	}
	return ""
}

func inventoryID(ns, name, group, kind string) string {
	return ns + "_" + name + "_" + group + "_" + kind
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(a)
	sort.Strings(b)
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
