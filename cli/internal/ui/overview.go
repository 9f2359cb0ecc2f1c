package ui

import (
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ferrycd/ferry/cli/internal/objects"
)

// States the overview counts and filters by, in the order shown. They map
// Flux's and kstatus's conditions to the words of Argo CD users too.
const (
	stateFailing     = "failing"
	stateProgressing = "progressing"
	stateSuspended   = "suspended"
	stateReady       = "ready"
	stateUnknown     = "unknown"
)

var stateOrder = []string{stateFailing, stateProgressing, stateSuspended, stateUnknown, stateReady}

// stateOf classifies a summary for counts and badges: failing wins over
// everything, as it is what the page is for.
func stateOf(s objects.Summary) string {
	switch {
	case s.Failing():
		return stateFailing
	case s.Suspended:
		return stateSuspended
	case s.Reconciling:
		return stateProgressing
	case s.Ready == objects.ReadyTrue:
		return stateReady
	default:
		return stateUnknown
	}
}

// query is the overview's filter, read from the URL so a view can be
// linked and reloaded.
type query struct {
	Cluster   string
	Namespace string
	Group     string
	State     string
	Text      string
	Page      int
}

func readQuery(r *http.Request) query {
	v := r.URL.Query()
	q := query{Cluster: v.Get("cluster"), Namespace: v.Get("ns"), Group: v.Get("kind"), State: v.Get("state"), Text: strings.TrimSpace(v.Get("q"))}
	q.Page, _ = strconv.Atoi(v.Get("page"))
	if q.Page < 1 {
		q.Page = 1
	}
	return q
}

// url is the overview URL of q with changes applied.
func (q query) url(path string, change func(*query)) string {
	c := q
	if change != nil {
		change(&c)
	}
	v := url.Values{}
	for k, val := range map[string]string{"cluster": c.Cluster, "ns": c.Namespace, "kind": c.Group, "state": c.State, "q": c.Text} {
		if val != "" {
			v.Set(k, val)
		}
	}
	if c.Page > 1 {
		v.Set("page", strconv.Itoa(c.Page))
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// matchesGroup is the kind filter: all, sources, ks, hr or one kind.
func matchesGroup(group, kind string) bool {
	if group == "" {
		return true
	}
	kinds, err := objects.Resolve(group)
	if err != nil {
		return false
	}
	for _, k := range kinds {
		if k.Kind == kind {
			return true
		}
	}
	return false
}

// matchesText is the search: every word must appear in the cluster,
// namespace, kind, name, revision, reason or message, any case.
func matchesText(words []string, cluster string, s objects.Summary) bool {
	if len(words) == 0 {
		return true
	}
	hay := strings.ToLower(strings.Join([]string{cluster, s.Namespace, s.Kind, s.Name, s.Revision, s.Reason, s.Text()}, " "))
	for _, w := range words {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

type rowView struct {
	Cluster string
	objects.Summary
	State string
	Age   string
	URL   string
}

type stateCount struct {
	State  string
	N      int
	URL    string
	Active bool
}

type clusterNotes struct {
	Cluster string
	Notes   []string
}

type overviewView struct {
	Title      string
	CSRF       string
	Query      query
	Clusters   []string
	Multi      bool
	ClusterURL map[string]string
	Namespaces []string
	Groups     []string
	Counts     []stateCount
	Total      int
	Matched    int
	Rows       []rowView
	Page       int
	Pages      int
	PrevURL    string
	NextURL    string
	Notes      []clusterNotes
	Rendered   string
}

// view filters, counts and paginates the cached summaries. Counts are over
// what the cluster, namespace, kind and search filters select, so clicking
// a count narrows to exactly that many rows.
func (s *Server) view(q query) overviewView {
	v := overviewView{Title: "Overview", Query: q, Clusters: s.clusterNames(), Multi: len(s.clusters) > 1,
		Groups: []string{objects.GroupSources, objects.GroupKS, objects.GroupHR, objects.GroupRollouts}, ClusterURL: map[string]string{}}
	for _, name := range v.Clusters {
		v.ClusterURL[name] = q.url("/", func(c *query) { c.Cluster, c.Page = name, 1 })
	}
	v.ClusterURL[""] = q.url("/", func(c *query) { c.Cluster, c.Page = "", 1 })
	words := strings.Fields(strings.ToLower(q.Text))
	counts := map[string]int{}
	nsSeen := map[string]bool{}
	now := s.now()
	var matched []rowView
	for _, c := range s.clusters {
		if q.Cluster != "" && q.Cluster != c.name {
			continue
		}
		rows, notes := c.snapshot()
		if len(notes) > 0 {
			v.Notes = append(v.Notes, clusterNotes{Cluster: c.name, Notes: notes})
		}
		for _, ns := range c.namespaces() {
			nsSeen[ns] = true
		}
		for _, r := range rows {
			v.Total++
			if (q.Namespace != "" && r.Namespace != q.Namespace) || !matchesGroup(q.Group, r.Kind) || !matchesText(words, c.name, r) {
				continue
			}
			st := stateOf(r)
			counts[st]++
			if q.State != "" && q.State != st {
				continue
			}
			matched = append(matched, rowView{Cluster: c.name, Summary: r, State: st})
		}
	}
	if v.Multi {
		// Each cluster's rows are failing first already; across clusters
		// the failing ones of every cluster still come first.
		matched = failingFirst(matched)
	}
	for ns := range nsSeen {
		v.Namespaces = append(v.Namespaces, ns)
	}
	sort.Strings(v.Namespaces)
	for _, st := range stateOrder {
		v.Counts = append(v.Counts, stateCount{State: st, N: counts[st], Active: q.State == st,
			URL: q.url("/", func(c *query) {
				c.Page = 1
				if c.State == st {
					c.State = ""
				} else {
					c.State = st
				}
			})})
	}
	v.Matched = len(matched)
	size := s.opts.PageSize
	v.Pages = max(1, (len(matched)+size-1)/size)
	v.Page = min(q.Page, v.Pages)
	lo, hi := (v.Page-1)*size, min(v.Page*size, len(matched))
	if lo < hi {
		v.Rows = matched[lo:hi]
	}
	for i := range v.Rows {
		r := &v.Rows[i]
		r.Age = objects.Age(r.Created, now)
		r.URL = objectURL(r.Cluster, r.Kind, r.Namespace, r.Name)
	}
	if v.Page > 1 {
		v.PrevURL = q.url("/", func(c *query) { c.Page = v.Page - 1 })
	}
	if v.Page < v.Pages {
		v.NextURL = q.url("/", func(c *query) { c.Page = v.Page + 1 })
	}
	v.Rendered = now.UTC().Format(time.TimeOnly)
	return v
}

// failingFirst orders rows of several clusters: failing, then not yet
// ready, then the rest, keeping each cluster's order within a group.
func failingFirst(rows []rowView) []rowView {
	rank := func(r rowView) int {
		switch {
		case r.Failing():
			return 0
		case r.Ready == objects.ReadyUnknown:
			return 1
		default:
			return 2
		}
	}
	out := make([]rowView, 0, len(rows))
	for want := 0; want < 3; want++ {
		for _, r := range rows {
			if rank(r) == want {
				out = append(out, r)
			}
		}
	}
	return out
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	v := s.view(readQuery(r))
	v.CSRF = s.guard.token(s.guard.session(w, r))
	s.render(w, "overview.html", "page", http.StatusOK, v)
}

// overviewRows serves the results part of the overview, for the search box
// and the live updates to replace in place.
func (s *Server) overviewRows(w http.ResponseWriter, r *http.Request) {
	s.render(w, "overview.html", "results", http.StatusOK, s.view(readQuery(r)))
}

func objectURL(cluster, kind, ns, name string) string {
	return "/c/" + url.PathEscape(cluster) + "/" + url.PathEscape(kind) + "/" + url.PathEscape(ns) + "/" + url.PathEscape(name)
}

// funcs are the template helpers.
var funcs = template.FuncMap{
	"lower": strings.ToLower,
	"short": short,
}
