package ui

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/ferrycd/ferry/cli/internal/actions"
	"github.com/ferrycd/ferry/cli/internal/objects"
)

// ref names one object of one cluster.
type ref struct {
	Cluster, Kind, Namespace, Name string
}

func (r ref) URL() string { return objectURL(r.Cluster, r.Kind, r.Namespace, r.Name) }

func (r ref) key() string { return r.Cluster + "/" + rowKey(r.Kind, r.Namespace, r.Name) }

func refOf(r *http.Request) ref {
	return ref{Cluster: r.PathValue("cluster"), Kind: r.PathValue("kind"), Namespace: r.PathValue("ns"), Name: r.PathValue("name")}
}

type field struct{ Name, Value string }

type conditionView struct {
	Type, Status, Reason, Message, Age string
}

type eventView struct {
	Type, Reason, Message, Age, Source string
	Count                              int32
}

type historyView struct {
	Version                                           int64
	Chart, AppVersion, Status, Deployed, ConfigDigest string
}

// node is an object in the dependsOn graph with its state.
type node struct {
	ref
	State   string
	Missing bool
	Current bool
}

type objectView struct {
	Title string
	CSRF  string
	ref
	// Keys are the live keys whose change refreshes the page: the object
	// and the objects of its dependsOn graph.
	Keys       string
	Summary    objects.Summary
	State      string
	Age        string
	Fields     []field
	Conditions []conditionView
	History    []historyView
	Source     *node
	// Graph holds the dependsOn levels: upstream first, the object, then
	// the objects that depend on it.
	Graph      [][]node
	HasGraph   bool
	Events     []eventView
	EventsNote string
	Tree       treeView
	// Flash reports an action's outcome; Error an action's failure.
	Flash, Error string
	// Requested is the reconcile token this page waits for; Handled is
	// set when the controller echoed it.
	Requested string
	Handled   bool
	CanDiff   bool
	CanSource bool
	Suspended bool
	Rendered  string
	Multi     bool
	// Rollout is set on a Rollout's page: its steps, weights, ReplicaSets
	// and analysis, and its buttons instead of suspend and resume.
	Rollout *rolloutView
}

// objectPage serves the object page (template "page") or the part of it
// that changes (template "live"), for the live updates to replace in place.
func (s *Server) objectPage(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, code, msg := s.objectView(r)
		if code != http.StatusOK {
			s.fail(w, code, msg)
			return
		}
		v.CSRF = s.guard.token(s.guard.session(w, r))
		v.Flash, v.Requested = flash(r)
		v.Handled = v.Requested != "" && lastHandled(v) == v.Requested
		s.render(w, "object.html", name, http.StatusOK, v)
	}
}

func lastHandled(v objectView) string {
	for _, f := range v.Fields {
		if f.Name == "last handled reconcile" {
			return f.Value
		}
	}
	return ""
}

// flash reads what the last action left in the URL.
func flash(r *http.Request) (msg, token string) {
	q := r.URL.Query()
	return q.Get("done"), q.Get("requested")
}

// objectView reads the object from the cache and fetches what the cache
// does not hold (events, the inventory's live objects) with the user's
// client; a failure there is shown in its section, never hidden.
func (s *Server) objectView(r *http.Request) (objectView, int, string) {
	id := refOf(r)
	c, ok := s.cluster(id.Cluster)
	if !ok {
		return objectView{}, http.StatusNotFound, fmt.Sprintf("no cluster %q: the UI shows %s", id.Cluster, strings.Join(s.clusterNames(), ", "))
	}
	k, err := objects.Lookup(id.Kind)
	if err != nil {
		return objectView{}, http.StatusNotFound, err.Error()
	}
	obj, ok := c.object(k.Kind, id.Namespace, id.Name)
	if !ok {
		return objectView{}, http.StatusNotFound, fmt.Sprintf("%s %s/%s not found in %s (or not visible to you)", k.Kind, id.Namespace, id.Name, id.Cluster)
	}
	now := s.now()
	sum := objects.Summarize(obj)
	v := objectView{Title: k.Kind + " " + id.Name, ref: id, Summary: sum, State: stateOf(sum),
		Age: objects.Age(sum.Created, now), Suspended: sum.Suspended, Multi: len(s.clusters) > 1,
		CanDiff:  k.Kind == objects.Kustomization.Kind || k.Kind == objects.HelmRelease.Kind,
		Rendered: now.UTC().Format(time.TimeOnly)}
	v.Fields = objectFields(obj)
	for _, cd := range objects.Conditions(obj) {
		v.Conditions = append(v.Conditions, conditionView{Type: cd.Type, Status: string(cd.Status), Reason: cd.Reason,
			Message: cd.Message, Age: objects.Age(cd.LastTransitionTime.Time, now)})
	}
	v.History = helmHistory(obj)
	if src, err := actions.SourceOf(obj); err == nil && src.Name != "" {
		n := node{ref: ref{Cluster: id.Cluster, Kind: src.Kind.Kind, Namespace: src.Namespace, Name: src.Name}}
		if so, found := c.object(src.Kind.Kind, src.Namespace, src.Name); found {
			n.State = stateOf(objects.Summarize(so))
		} else {
			n.Missing = true
		}
		v.Source, v.CanSource = &n, true
	}
	v.Graph = dependsOnGraph(c, id, k.Kind)
	v.HasGraph = len(v.Graph) > 1
	keys := []string{id.key()}
	for _, level := range v.Graph {
		for _, n := range level {
			keys = append(keys, n.key())
		}
	}
	if v.Source != nil {
		keys = append(keys, v.Source.key())
	}
	v.Keys = strings.Join(keys, " ")
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	v.Events, v.EventsNote = s.events(ctx, c, k.Kind, id.Namespace, id.Name, now)
	v.Tree = s.tree(ctx, c, k, id.Namespace, id.Name)
	if k.Kind == objects.Rollout.Kind {
		if kc, err := c.clients(); err == nil {
			v.Rollout = s.rolloutOf(ctx, kc, obj)
		}
	}
	return v, http.StatusOK, ""
}

// objectFields are the revisions and bookkeeping a person checks first.
func objectFields(obj *unstructured.Unstructured) []field {
	str := func(path ...string) string {
		v, _, _ := unstructured.NestedString(obj.Object, path...)
		return v
	}
	var out []field
	add := func(name, value string) {
		if value != "" {
			out = append(out, field{name, value})
		}
	}
	switch obj.GetKind() {
	case objects.Kustomization.Kind:
		add("last applied revision", str("status", "lastAppliedRevision"))
		add("last attempted revision", str("status", "lastAttemptedRevision"))
		add("path", str("spec", "path"))
	case objects.HelmRelease.Kind:
		add("last attempted revision", str("status", "lastAttemptedRevision"))
		add("last attempted action", str("status", "lastAttemptedReleaseAction"))
		add("chart", str("spec", "chart", "spec", "chart"))
		add("release", strings.Trim(str("spec", "targetNamespace")+"/"+str("spec", "releaseName"), "/"))
		for _, f := range []string{"failures", "installFailures", "upgradeFailures"} {
			if n, ok, _ := unstructured.NestedInt64(obj.Object, "status", f); ok && n > 0 {
				add(f, fmt.Sprint(n))
			}
		}
	case objects.Rollout.Kind:
		out = append(out, rolloutFields(obj)...)
	default:
		add("url", str("spec", "url"))
		add("artifact revision", str("status", "artifact", "revision"))
		add("artifact digest", str("status", "artifact", "digest"))
		add("artifact updated", str("status", "artifact", "lastUpdateTime"))
	}
	add("interval", str("spec", "interval"))
	add("last handled reconcile", str("status", "lastHandledReconcileAt"))
	og, _, _ := unstructured.NestedInt64(obj.Object, "status", "observedGeneration")
	add("generation / observed", fmt.Sprintf("%d / %d", obj.GetGeneration(), og))
	return out
}

// helmHistory reads a HelmRelease's status.history, newest first.
func helmHistory(obj *unstructured.Unstructured) []historyView {
	raw, _, _ := unstructured.NestedSlice(obj.Object, "status", "history")
	var out []historyView
	for _, h := range raw {
		m, ok := h.(map[string]any)
		if !ok {
			continue
		}
		str := func(k string) string { s, _ := m[k].(string); return s }
		ver, _ := m["version"].(int64)
		out = append(out, historyView{Version: ver, Chart: str("chartName") + "@" + str("chartVersion"),
			AppVersion: str("appVersion"), Status: str("status"), Deployed: str("lastDeployed"), ConfigDigest: short(str("configDigest"), 19)})
	}
	return out
}

func short(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// dependsOn reads spec.dependsOn of an object as refs of the same kind.
func dependsOn(obj *unstructured.Unstructured) []ref {
	raw, _, _ := unstructured.NestedSlice(obj.Object, "spec", "dependsOn")
	var out []ref
	for _, d := range raw {
		m, ok := d.(map[string]any)
		if !ok {
			continue
		}
		name, _ := m["name"].(string)
		ns, _ := m["namespace"].(string)
		if ns == "" {
			ns = obj.GetNamespace()
		}
		if name != "" {
			out = append(out, ref{Kind: obj.GetKind(), Namespace: ns, Name: name})
		}
	}
	return out
}

// dependsOnGraph lays out what the object waits for (transitively, to the
// left) and what waits for it (to the right), each node with its state,
// from the cache alone.
func dependsOnGraph(c *cluster, id ref, kind string) [][]node {
	all := c.objects(kind)
	byKey := map[string]*unstructured.Unstructured{}
	dependents := map[string][]ref{}
	for _, o := range all {
		r := ref{Cluster: c.name, Kind: kind, Namespace: o.GetNamespace(), Name: o.GetName()}
		byKey[r.key()] = o
		for _, d := range dependsOn(o) {
			d.Cluster = c.name
			dependents[d.key()] = append(dependents[d.key()], r)
		}
	}
	self := ref{Cluster: c.name, Kind: kind, Namespace: id.Namespace, Name: id.Name}
	mk := func(r ref) node {
		n := node{ref: r, Current: r == self}
		if o, ok := byKey[r.key()]; ok {
			n.State = stateOf(objects.Summarize(o))
		} else {
			n.Missing = true
		}
		return n
	}
	seen := map[string]bool{self.key(): true}
	walk := func(start []ref, next func(ref) []ref) [][]node {
		var levels [][]node
		cur := start
		for len(cur) > 0 && len(levels) < 10 {
			var level []node
			var following []ref
			for _, r := range cur {
				if seen[r.key()] {
					continue
				}
				seen[r.key()] = true
				level = append(level, mk(r))
				following = append(following, next(r)...)
			}
			if len(level) > 0 {
				levels = append(levels, level)
			}
			cur = following
		}
		return levels
	}
	upstream := func(r ref) []ref {
		o, ok := byKey[r.key()]
		if !ok {
			return nil
		}
		deps := dependsOn(o)
		for i := range deps {
			deps[i].Cluster = c.name
		}
		return deps
	}
	up := walk(upstream(self), upstream)
	down := walk(dependents[self.key()], func(r ref) []ref { return dependents[r.key()] })
	var graph [][]node
	for i := len(up) - 1; i >= 0; i-- {
		graph = append(graph, up[i])
	}
	graph = append(graph, []node{mk(self)})
	return append(graph, down...)
}

// events lists the object's Kubernetes events, newest first, with the
// user's client; a refusal is said, not swallowed.
func (s *Server) events(ctx context.Context, c *cluster, kind, ns, name string, now time.Time) ([]eventView, string) {
	sel := fields.Set{"involvedObject.kind": kind, "involvedObject.name": name, "involvedObject.namespace": ns}.AsSelector().String()
	list, err := c.core.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return nil, describeError("list", corev1.Resource("events"), ns, err)
	}
	items := list.Items
	last := func(e corev1.Event) time.Time {
		switch {
		case !e.LastTimestamp.IsZero():
			return e.LastTimestamp.Time
		case !e.EventTime.IsZero():
			return e.EventTime.Time
		default:
			return e.CreationTimestamp.Time
		}
	}
	sort.Slice(items, func(i, j int) bool { return last(items[i]).After(last(items[j])) })
	var out []eventView
	for i, e := range items {
		if i == 30 {
			break
		}
		src := e.ReportingController
		if src == "" {
			src = e.Source.Component
		}
		out = append(out, eventView{Type: e.Type, Reason: e.Reason, Message: e.Message, Count: max(e.Count, 1),
			Age: objects.Age(last(e), now), Source: src})
	}
	if len(out) == 0 {
		return nil, "no events (Kubernetes keeps them for one hour)"
	}
	return out, ""
}
