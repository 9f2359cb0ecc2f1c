package suite

import (
	"net/http"
	"sort"
	"strings"
	"sync"
)

// Requests counts what a suite's manager sends to the API server, by
// namespace, so that a test can hold a reconcile to a request budget: a
// count, unlike a time, does not depend on how busy the machine is, and
// counted on the wire it leaves nothing out (the events recorder, Helm's
// clients, the patch helper's retries). Pass Wrap as
// Options.WrapTransport. Requests outside a namespace (the cache's
// cluster-wide list and watch, discovery) are not counted.
type Requests struct {
	mu          sync.Mutex
	byNamespace map[string][]string
}

// NewRequests returns an empty counter.
func NewRequests() *Requests {
	return &Requests{byNamespace: map[string][]string{}}
}

// Wrap is an Options.WrapTransport that counts each namespaced request.
func (c *Requests) Wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		if ns, what, ok := DescribeRequest(req); ok {
			c.mu.Lock()
			c.byNamespace[ns] = append(c.byNamespace[ns], what)
			c.mu.Unlock()
		}
		return rt.RoundTrip(req)
	})
}

// Mark is the count of requests in ns so far, for Since.
func (c *Requests) Mark(ns string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byNamespace[ns])
}

// Since returns the requests made in ns from mark on, sorted.
func (c *Requests) Since(ns string, mark int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := append([]string(nil), c.byNamespace[ns][mark:]...)
	sort.Strings(out)
	return out
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// DescribeRequest names a namespaced request "<verb> <resource>[/<sub>]",
// the verb being apply, dry-run, patch, create, put, get, list, watch or
// delete.
func DescribeRequest(req *http.Request) (ns, what string, ok bool) {
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	i := -1
	for j, p := range parts {
		if p == "namespaces" && j+2 < len(parts) {
			i = j
			break
		}
	}
	if i < 0 {
		return "", "", false
	}
	ns, rest := parts[i+1], parts[i+2:]
	resource := rest[0]
	if len(rest) > 2 {
		resource += "/" + rest[2]
	}
	verb := strings.ToLower(req.Method)
	switch {
	case req.Method == http.MethodPatch && req.URL.Query().Get("dryRun") != "":
		verb = "dry-run"
	case req.Method == http.MethodPatch && strings.Contains(req.Header.Get("Content-Type"), "apply-patch"):
		verb = "apply"
	case req.Method == http.MethodPost:
		verb = "create"
	case req.Method == http.MethodGet && req.URL.Query().Get("watch") != "":
		verb = "watch"
	case req.Method == http.MethodGet && len(rest) == 1:
		verb = "list"
	}
	return ns, verb + " " + resource, true
}
