package ui

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/ferrycd/ferry/cli/internal/kube"
	"github.com/ferrycd/ferry/cli/internal/objects"
)

// Target is one kubeconfig context the UI shows.
type Target struct {
	// Name is the context's name, shown in the cluster switch and in URLs.
	Name string
	// Config authenticates as the user of that context.
	Config *rest.Config
	// Namespaces are the namespaces to show when the user may not list a
	// kind across the cluster: the context's namespace and any -n given.
	Namespaces []string
}

// cluster is a connection to one context: informers on the Flux kinds,
// scoped to what the user may list, and the summaries they feed.
type cluster struct {
	name string
	cfg  *rest.Config
	dyn  dynamic.Interface
	core kubernetes.Interface
	// kc is the controller-runtime client the actions and the tree use.
	kc *kube.Clients

	// changed is called with the key of each object that changed.
	changed func(cluster, key string)

	mu sync.RWMutex
	// informers hold the watch caches, per kind and scope.
	informers map[string][]cache.SharedIndexInformer
	rows      map[string]objects.Summary
	// sorted is rows in objects.Sort's order, rebuilt after a change.
	sorted []objects.Summary
	// notes say what the user cannot see and why, shown on the overview so
	// nothing is hidden behind a silent failure.
	notes []string
	// scopes records, per kind, the namespaces watched ("" = all).
	scopes map[string][]string
}

func newCluster(t Target, changed func(cluster, key string)) (*cluster, error) {
	cfg := rest.CopyConfig(t.Config)
	cfg.UserAgent = "ferry-ui"
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	core, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	kc, err := kube.FromConfig(cfg, "")
	if err != nil {
		return nil, err
	}
	return &cluster{name: t.Name, cfg: cfg, dyn: dyn, core: core, kc: kc, changed: changed,
		informers: map[string][]cache.SharedIndexInformer{}, rows: map[string]objects.Summary{}, scopes: map[string][]string{}}, nil
}

// start decides, per kind, the widest scope the user may list (the whole
// cluster, else each fallback namespace), starts an informer per scope and
// waits until the caches are filled or timeout passes.
func (c *cluster) start(ctx context.Context, namespaces []string, timeout time.Duration) {
	var synced []cache.InformerSynced
	d := &denials{}
	for _, k := range objects.Kinds {
		scopes := c.scopesFor(ctx, k, namespaces, d)
		c.mu.Lock()
		c.scopes[k.Kind] = scopes
		c.mu.Unlock()
		for _, ns := range scopes {
			inf := dynamicinformer.NewFilteredDynamicInformer(c.dyn, k.GVR(), ns, 0, cache.Indexers{}, nil).Informer()
			_ = inf.SetTransform(stripManagedFields)
			_, _ = inf.AddEventHandler(c.handler(k))
			go inf.Run(ctx.Done())
			c.mu.Lock()
			c.informers[k.Kind] = append(c.informers[k.Kind], inf)
			c.mu.Unlock()
			synced = append(synced, inf.HasSynced)
		}
	}
	c.mu.Lock()
	c.notes = append(c.notes, d.notes(namespaces)...)
	c.mu.Unlock()
	wait, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if !cache.WaitForCacheSync(wait.Done(), synced...) {
		c.mu.Lock()
		c.notes = append(c.notes, fmt.Sprintf("the watch caches did not fill within %s; the lists may be incomplete", timeout))
		c.mu.Unlock()
	}
}

// denials collect what the user may not list, by namespace ("" for the
// whole cluster), plus other errors, so the overview says it in a few
// sentences instead of one per kind and namespace.
type denials struct {
	forbidden map[string][]string
	other     []string
}

func (d *denials) deny(ns string, gr schema.GroupResource) {
	if d.forbidden == nil {
		d.forbidden = map[string][]string{}
	}
	d.forbidden[ns] = append(d.forbidden[ns], gr.String())
}

func (d *denials) notes(fallback []string) []string {
	var out []string
	if rs := d.forbidden[""]; len(rs) > 0 {
		out = append(out, fmt.Sprintf("forbidden by RBAC: you may not list %s across all namespaces, showing only namespace(s) %s",
			strings.Join(rs, ", "), strings.Join(fallback, ", ")))
	}
	for _, ns := range fallback {
		if rs := d.forbidden[ns]; len(rs) > 0 {
			out = append(out, fmt.Sprintf("forbidden by RBAC: you may not list %s in namespace %s", strings.Join(rs, ", "), ns))
		}
	}
	return append(out, d.other...)
}

// scopesFor lists kind once across the cluster; when that is forbidden it
// falls back to the given namespaces, each checked the same way. A kind the
// API server does not serve is noted and skipped.
func (c *cluster) scopesFor(ctx context.Context, k objects.Kind, namespaces []string, d *denials) []string {
	_, err := c.dyn.Resource(k.GVR()).List(ctx, metav1.ListOptions{Limit: 1})
	switch {
	case err == nil:
		return []string{""}
	case objects.NotServed(err):
		return nil
	case !apierrors.IsForbidden(err):
		d.other = append(d.other, describeError("list", k.GVR().GroupResource(), "", err))
		return nil
	}
	d.deny("", k.GVR().GroupResource())
	var scopes []string
	for _, ns := range namespaces {
		_, err := c.dyn.Resource(k.GVR()).Namespace(ns).List(ctx, metav1.ListOptions{Limit: 1})
		switch {
		case err == nil:
			scopes = append(scopes, ns)
		case apierrors.IsForbidden(err):
			d.deny(ns, k.GVR().GroupResource())
		default:
			d.other = append(d.other, describeError("list", k.GVR().GroupResource(), ns, err))
		}
	}
	return scopes
}

func (c *cluster) handler(k objects.Kind) cache.ResourceEventHandlerFuncs {
	put := func(obj any) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return
		}
		s := objects.Summarize(u)
		key := rowKey(k.Kind, s.Namespace, s.Name)
		c.mu.Lock()
		c.rows[key] = s
		c.sorted = nil
		c.mu.Unlock()
		c.changed(c.name, key)
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    put,
		UpdateFunc: func(_, obj any) { put(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			u, ok := obj.(*unstructured.Unstructured)
			if !ok {
				return
			}
			key := rowKey(k.Kind, u.GetNamespace(), u.GetName())
			c.mu.Lock()
			delete(c.rows, key)
			c.sorted = nil
			c.mu.Unlock()
			c.changed(c.name, key)
		},
	}
}

func (c *cluster) clients() (*kube.Clients, error) { return c.kc, nil }

// object returns the cached object of kind ns/name.
func (c *cluster) object(kind, ns, name string) (*unstructured.Unstructured, bool) {
	c.mu.RLock()
	infs := c.informers[kind]
	c.mu.RUnlock()
	for _, inf := range infs {
		if obj, ok, _ := inf.GetStore().GetByKey(ns + "/" + name); ok {
			return obj.(*unstructured.Unstructured), true
		}
	}
	return nil, false
}

// objects returns every cached object of kind.
func (c *cluster) objects(kind string) []*unstructured.Unstructured {
	c.mu.RLock()
	infs := c.informers[kind]
	c.mu.RUnlock()
	var out []*unstructured.Unstructured
	for _, inf := range infs {
		for _, obj := range inf.GetStore().List() {
			out = append(out, obj.(*unstructured.Unstructured))
		}
	}
	return out
}

// snapshot returns the cluster's summaries, failing first, and its notes.
// The sorted slice is shared and must not be changed.
func (c *cluster) snapshot() ([]objects.Summary, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sorted == nil {
		c.sorted = make([]objects.Summary, 0, len(c.rows))
		for _, r := range c.rows {
			c.sorted = append(c.sorted, r)
		}
		objects.Sort(c.sorted)
	}
	return c.sorted, append([]string(nil), c.notes...)
}

// namespaces returns the namespaces that hold at least one object, sorted.
func (c *cluster) namespaces() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	seen := map[string]bool{}
	for _, r := range c.rows {
		seen[r.Namespace] = true
	}
	out := make([]string, 0, len(seen))
	for ns := range seen {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}

// rowKey identifies an object of a cluster, as SSE messages name it.
func rowKey(kind, ns, name string) string { return kind + "/" + ns + "/" + name }

// stripManagedFields drops what the UI never shows before an object enters
// the cache, so thousands of objects stay small in memory.
func stripManagedFields(obj any) (any, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		u.SetManagedFields(nil)
		ann := u.GetAnnotations()
		if _, ok := ann["kubectl.kubernetes.io/last-applied-configuration"]; ok {
			delete(ann, "kubectl.kubernetes.io/last-applied-configuration")
			u.SetAnnotations(ann)
		}
	}
	return obj, nil
}

// forbiddenText is how the UI says that RBAC refused something: the verb and
// the resource, as `kubectl auth can-i` would take them.
func forbiddenText(verb string, gr schema.GroupResource, ns string) string {
	s := fmt.Sprintf("forbidden by RBAC: you may not %s %s", verb, gr)
	if ns != "" {
		s += " in namespace " + ns
	} else {
		s += " across all namespaces"
	}
	return s
}

func isForbidden(err error) bool { return apierrors.IsForbidden(err) }

// describeError turns an API error into a sentence a user can act on; a
// 403 names the verb and resource.
func describeError(verb string, gr schema.GroupResource, ns string, err error) string {
	if apierrors.IsForbidden(err) {
		return forbiddenText(verb, gr, ns)
	}
	return fmt.Sprintf("cannot %s %s: %v", verb, gr, err)
}
