package ui

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/cli/internal/diff"
	"github.com/ferrycd/ferry/cli/internal/objects"
	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
)

// diffTimeout bounds a diff: a build plus one dry-run per object.
const diffTimeout = 2 * time.Minute

type diffLine struct{ Class, Text string }

type diffObject struct {
	Action string
	Name   string
	Note   string
	Lines  []diffLine
}

type diffView struct {
	Error   string
	Summary string
	Notes   []string
	Objects []diffObject
}

// diff serves the diff against Git of a Kustomization or HelmRelease: the diff engine of
// `ferry diff`, run with the user's client, Secrets masked by the engine
// before anything is compared. Loaded on demand, since it builds and
// dry-runs every object.
func (s *Server) diff(w http.ResponseWriter, r *http.Request) {
	id := refOf(r)
	c, ok := s.cluster(id.Cluster)
	if !ok {
		s.render(w, "object.html", "diff", http.StatusNotFound, diffView{Error: fmt.Sprintf("no cluster %q", id.Cluster)})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), diffTimeout)
	defer cancel()
	res, err := s.diffOf(ctx, c, id)
	if err != nil {
		code := http.StatusBadGateway
		if isForbidden(err) {
			code = http.StatusForbidden
		}
		s.render(w, "object.html", "diff", code, diffView{Error: err.Error()})
		return
	}
	s.render(w, "object.html", "diff", http.StatusOK, viewDiff(res))
}

func (s *Server) diffOf(ctx context.Context, c *cluster, id ref) (*diff.Result, error) {
	k, err := objects.Lookup(id.Kind)
	if err != nil {
		return nil, err
	}
	e := &diff.Engine{Client: c.kc.Client}
	switch k.Kind {
	case objects.Kustomization.Kind:
		ks := &kustomizev1.Kustomization{}
		if err := c.kc.Client.Get(ctx, client.ObjectKey{Namespace: id.Namespace, Name: id.Name}, ks); err != nil {
			return nil, fmt.Errorf("%s: %w", describeError("get", kustomizev1.GroupVersion.WithResource("kustomizations").GroupResource(), id.Namespace, err), err)
		}
		return e.Kustomization(ctx, diff.KustomizationRequest{Kustomization: ks, Exists: true}, &diff.Artifacts{Config: c.cfg})
	case objects.HelmRelease.Kind:
		hr := &helmv2.HelmRelease{}
		if err := c.kc.Client.Get(ctx, client.ObjectKey{Namespace: id.Namespace, Name: id.Name}, hr); err != nil {
			return nil, fmt.Errorf("%s: %w", describeError("get", helmv2.GroupVersion.WithResource("helmreleases").GroupResource(), id.Namespace, err), err)
		}
		return e.HelmRelease(ctx, diff.HelmReleaseRequest{HelmRelease: hr}, &diff.Artifacts{Config: c.cfg}, c.core)
	}
	return nil, fmt.Errorf("the diff against Git is for Kustomizations and HelmReleases; %s has none", k.Kind)
}

// viewDiff orders what changes first and splits each unified diff into
// lines the page colours.
func viewDiff(res *diff.Result) diffView {
	v := diffView{Notes: res.Notes}
	counts := res.Counts()
	var parts []string
	for _, a := range []diff.Action{diff.Created, diff.Configured, diff.Replaced, diff.Pruned, diff.Unchanged, diff.Skipped} {
		if counts[a] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[a], a))
		}
	}
	v.Summary = strings.Join(parts, ", ")
	if res.Revision != "" {
		v.Summary += " · against " + res.Revision
	}
	objs := append([]diff.ObjectDiff(nil), res.Objects...)
	sort.SliceStable(objs, func(i, j int) bool { return objs[i].Action != diff.Unchanged && objs[j].Action == diff.Unchanged })
	for _, o := range objs {
		action := string(o.Action)
		if o.Drift {
			action = "drift"
		}
		d := diffObject{Action: action, Name: o.Ref, Note: o.Note}
		for _, l := range strings.Split(strings.TrimRight(o.Diff, "\n"), "\n") {
			if l == "" && o.Diff == "" {
				continue
			}
			d.Lines = append(d.Lines, diffLine{Class: lineClass(l), Text: l})
		}
		v.Objects = append(v.Objects, d)
	}
	return v
}

func lineClass(l string) string {
	switch {
	case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
		return "head"
	case strings.HasPrefix(l, "+"):
		return "add"
	case strings.HasPrefix(l, "-"):
		return "del"
	case strings.HasPrefix(l, "@@"):
		return "hunk"
	}
	return "ctx"
}
