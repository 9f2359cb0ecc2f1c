package ui

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/ferrycd/ferry/cli/internal/objects"
)

func TestCheckAddr(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"127.0.0.1:9080", false, true},
		{"localhost:9080", false, true},
		{"[::1]:9080", false, true},
		{"127.0.0.2:0", false, true},
		{"0.0.0.0:9080", false, false},
		{":9080", false, false},
		{"10.1.2.3:9080", false, false},
		{"0.0.0.0:9080", true, true},
		{"nonsense", true, false},
	} {
		err := CheckAddr(tc.addr, tc.remote)
		if (err == nil) != tc.ok {
			t.Errorf("CheckAddr(%q, %v) = %v, want ok=%v", tc.addr, tc.remote, err, tc.ok)
		}
	}
}

func TestGuardCheckPost(t *testing.T) {
	g := newGuard(false)
	session := strings.Repeat("ab", 32)
	post := func(token, origin string, cookie bool) error {
		form := url.Values{}
		if token != "" {
			form.Set(csrfField, token)
		}
		r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9080/c/x/Kustomization/ns/a/reconcile", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		if cookie {
			r.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
		}
		return g.checkPost(r)
	}
	good := g.token(session)
	for _, tc := range []struct {
		name          string
		token, origin string
		cookie        bool
		ok            bool
	}{
		{"token and same origin", good, "http://127.0.0.1:9080", true, true},
		{"token, no origin header", good, "", true, true},
		{"no token", "", "http://127.0.0.1:9080", true, false},
		{"token of another session", g.token(strings.Repeat("cd", 32)), "http://127.0.0.1:9080", true, false},
		{"other origin", good, "http://evil.example", true, false},
		{"no session cookie", good, "http://127.0.0.1:9080", false, false},
		{"token of another process", newGuard(false).token(session), "http://127.0.0.1:9080", true, false},
	} {
		if err := post(tc.token, tc.origin, tc.cookie); (err == nil) != tc.ok {
			t.Errorf("%s: checkPost = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestGuardCheckHost(t *testing.T) {
	g := newGuard(false)
	for host, ok := range map[string]bool{"127.0.0.1:9080": true, "localhost:9080": true, "[::1]:9080": true, "rebind.example:9080": false} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Host = host
		if err := g.checkHost(r); (err == nil) != ok {
			t.Errorf("checkHost(%q) = %v, want ok=%v", host, err, ok)
		}
	}
}

func TestStateOf(t *testing.T) {
	for _, tc := range []struct {
		s    objects.Summary
		want string
	}{
		{objects.Summary{Ready: objects.ReadyFalse}, stateFailing},
		{objects.Summary{Ready: objects.ReadyUnknown, Stalled: true}, stateFailing},
		{objects.Summary{Ready: objects.ReadyFalse, Suspended: true}, stateFailing},
		{objects.Summary{Ready: objects.ReadyTrue, Suspended: true}, stateSuspended},
		{objects.Summary{Ready: objects.ReadyUnknown, Reconciling: true}, stateProgressing},
		{objects.Summary{Ready: objects.ReadyTrue}, stateReady},
		{objects.Summary{Ready: objects.ReadyUnknown}, stateUnknown},
	} {
		if got := stateOf(tc.s); got != tc.want {
			t.Errorf("stateOf(%+v) = %s, want %s", tc.s, got, tc.want)
		}
	}
}

// fakeServer is a Server over clusters whose caches are filled by hand,
// for the pure parts of the overview.
func fakeServer(pageSize int, clusters map[string][]objects.Summary) *Server {
	s := &Server{opts: Options{PageSize: pageSize}, byName: map[string]*cluster{}, guard: newGuard(false),
		hub: newHub(10 * time.Millisecond), now: time.Now}
	var err error
	if s.pages, err = parsePages(); err != nil {
		panic(err)
	}
	for _, name := range []string{"one", "two"} {
		rows, ok := clusters[name]
		if !ok {
			continue
		}
		c := &cluster{name: name, rows: map[string]objects.Summary{}}
		for _, r := range rows {
			c.rows[rowKey(r.Kind, r.Namespace, r.Name)] = r
		}
		s.clusters = append(s.clusters, c)
		s.byName[name] = c
	}
	return s
}

func ks(ns, name, ready string) objects.Summary {
	return objects.Summary{Kind: "Kustomization", Namespace: ns, Name: name, Ready: ready}
}

func TestOverviewFiltersCountsAndPages(t *testing.T) {
	g := NewWithT(t)
	var rows []objects.Summary
	for i := range 250 {
		rows = append(rows, ks("apps", fmt.Sprintf("app-%03d", i), objects.ReadyTrue))
	}
	rows = append(rows, ks("infra", "broken", objects.ReadyFalse),
		objects.Summary{Kind: "GitRepository", Namespace: "infra", Name: "fleet", Ready: objects.ReadyTrue, Revision: "main@sha1:abc"})
	s := fakeServer(100, map[string][]objects.Summary{"one": rows})

	v := s.view(query{Page: 1})
	g.Expect(v.Total).To(Equal(252))
	g.Expect(v.Rows).To(HaveLen(100))
	g.Expect(v.Rows[0].Name).To(Equal("broken"), "failing first")
	g.Expect(v.Pages).To(Equal(3))
	g.Expect(v.NextURL).To(Equal("/?page=2"))
	counts := map[string]int{}
	for _, c := range v.Counts {
		counts[c.State] = c.N
	}
	g.Expect(counts).To(Equal(map[string]int{stateFailing: 1, stateReady: 251, stateProgressing: 0, stateSuspended: 0, stateUnknown: 0}))

	v = s.view(query{Page: 3})
	g.Expect(v.Rows).To(HaveLen(52))
	g.Expect(v.PrevURL).To(Equal("/?page=2"))

	v = s.view(query{Page: 1, Text: "APP-24"})
	g.Expect(v.Matched).To(Equal(10))

	v = s.view(query{Page: 1, Text: "sha1:abc"})
	g.Expect(v.Rows).To(HaveLen(1))
	g.Expect(v.Rows[0].Name).To(Equal("fleet"))

	v = s.view(query{Page: 1, Namespace: "infra", Group: "ks"})
	g.Expect(v.Rows).To(HaveLen(1))
	g.Expect(v.Rows[0].Name).To(Equal("broken"))

	v = s.view(query{Page: 1, State: stateFailing})
	g.Expect(v.Matched).To(Equal(1))
	g.Expect(v.Counts[len(v.Counts)-1].N).To(Equal(251), "counts ignore the state filter itself")
}

func TestOverviewSeveralClustersFailingFirst(t *testing.T) {
	g := NewWithT(t)
	s := fakeServer(100, map[string][]objects.Summary{
		"one": {ks("a", "ok", objects.ReadyTrue), ks("a", "pending", objects.ReadyUnknown)},
		"two": {ks("a", "ok", objects.ReadyTrue), ks("b", "bad", objects.ReadyFalse)},
	})
	v := s.view(query{Page: 1})
	g.Expect(v.Multi).To(BeTrue())
	var got []string
	for _, r := range v.Rows {
		got = append(got, r.Cluster+"/"+r.Name)
	}
	g.Expect(got).To(Equal([]string{"two/bad", "one/pending", "one/ok", "two/ok"}))
	v = s.view(query{Page: 1, Cluster: "one"})
	g.Expect(v.Rows).To(HaveLen(2))
}

// TestLiveBatches proves that a burst of changes reaches a page as one
// message naming each object, and that past maxKeys it says "many".
func TestLiveBatches(t *testing.T) {
	g := NewWithT(t)
	h := newHub(100 * time.Millisecond)
	srv := httptest.NewServer(http.HandlerFunc(h.serve))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := http.DefaultClient.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	next := func(event string) string {
		seen := ""
		for lines.Scan() {
			l := lines.Text()
			if v, ok := strings.CutPrefix(l, "event: "); ok {
				seen = v
			}
			if v, ok := strings.CutPrefix(l, "data: "); ok && seen == event {
				return v
			}
		}
		return ""
	}
	g.Expect(next("hello")).To(Equal("{}"))
	for i := range 3 {
		h.publish("one", fmt.Sprintf("Kustomization/ns/k%d", i))
	}
	g.Expect(next("changed")).To(Equal(`{"keys":["one/Kustomization/ns/k0","one/Kustomization/ns/k1","one/Kustomization/ns/k2"]}`))
	for i := range maxKeys + 1 {
		h.publish("one", fmt.Sprintf("Kustomization/ns/k%d", i))
	}
	g.Expect(next("changed")).To(Equal(`{"many":true}`))
}

// TestObjectTemplates renders the object page, its live part and the diff
// from hand-made views, so a template mistake fails here and not in a
// browser.
func TestObjectTemplates(t *testing.T) {
	g := NewWithT(t)
	pages, err := parsePages()
	g.Expect(err).NotTo(HaveOccurred())
	id := ref{Cluster: "one", Kind: "Kustomization", Namespace: "apps", Name: "web"}
	v := objectView{Title: "Kustomization web", CSRF: "tok", ref: id, Keys: id.key(),
		Summary: objects.Summary{Ready: "False", Reason: "BuildFailed", Message: "path not found"}, State: stateFailing,
		Fields:     []field{{"last handled reconcile", "t1"}},
		Conditions: []conditionView{{Type: "Ready", Status: "False", Reason: "BuildFailed", Message: "path not found"}},
		History:    []historyView{{Version: 2, Chart: "podinfo@6.5.0", Status: "deployed"}},
		Source:     &node{ref: ref{Cluster: "one", Kind: "GitRepository", Namespace: "apps", Name: "fleet"}, State: stateReady},
		Graph:      [][]node{{{ref: ref{Cluster: "one", Kind: "Kustomization", Namespace: "apps", Name: "infra"}, Missing: true}}, {{ref: id, Current: true}}},
		HasGraph:   true, CanDiff: true, CanSource: true,
		Tree:   treeView{Nodes: []treeNode{{Depth: 1, Kind: "ConfigMap", Namespace: "apps", Name: "settings", Health: "Current"}}},
		Events: []eventView{{Type: "Warning", Reason: "BuildFailed", Message: "boom", Count: 3}},
		Flash:  "reconcile requested", Requested: "t1", Handled: true, Error: "forbidden by RBAC: cannot patch kustomizations"}
	for _, name := range []string{"page", "live"} {
		var b strings.Builder
		g.Expect(pages["object.html"].ExecuteTemplate(&b, name, v)).To(Succeed())
		out := b.String()
		// An action's failure stays on the page: live updates leave it.
		if name == "page" {
			g.Expect(out).To(ContainSubstring("forbidden by RBAC: cannot patch kustomizations"))
		} else {
			g.Expect(out).NotTo(ContainSubstring("forbidden by RBAC"))
		}
		g.Expect(out).To(ContainSubstring(`formaction="/c/one/Kustomization/apps/web/reconcile"`))
		g.Expect(out).To(ContainSubstring(`name="csrf" value="tok"`))
		g.Expect(out).To(ContainSubstring("reconcile requested: handled by the controller, ready False (path not found)"))
		g.Expect(out).To(ContainSubstring("apps/infra<small>not found</small>"))
		g.Expect(out).To(ContainSubstring("podinfo@6.5.0"))
		g.Expect(out).To(ContainSubstring(`class="depth-1 h-current"`))
	}
	var b strings.Builder
	g.Expect(pages["object.html"].ExecuteTemplate(&b, "diff", diffView{Summary: "1 changed", Objects: []diffObject{
		{Action: "drift", Name: "ConfigMap/apps/settings", Lines: []diffLine{{"del", "-  color: red"}, {"add", "+  color: blue"}}}}})).To(Succeed())
	g.Expect(b.String()).To(ContainSubstring(`<span class="l-add">&#43;  color: blue</span>`))
	g.Expect(b.String()).To(ContainSubstring(`<details class="dobj d-drift" open>`))
}
