package events

import (
	"context"
	"fmt"
	"regexp"
	"sync"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/notification-controller/internal/kinds"
	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
)

// AlertSourceIndex indexes Alerts by "<namespace>/<kind>" of each event
// source, the namespace defaulting to the Alert's own and "*" standing for
// all namespaces. An event then reads only the Alerts that can match it,
// instead of every Alert in the cluster.
const AlertSourceIndex = ".spec.eventSources.namespaceKind"

// alertSourceKeys is the index function of AlertSourceIndex.
func alertSourceKeys(o client.Object) []string {
	a, ok := o.(*notificationv1.Alert)
	if !ok {
		return nil
	}
	keys := make([]string, 0, len(a.Spec.EventSources))
	for _, s := range a.Spec.EventSources {
		keys = append(keys, sourceNamespace(s, a.Namespace)+"/"+s.Kind)
	}
	return keys
}

// IndexAlerts registers AlertSourceIndex with the manager's cache.
func IndexAlerts(ctx context.Context, indexer client.FieldIndexer) error {
	return indexer.IndexField(ctx, &notificationv1.Alert{}, AlertSourceIndex, alertSourceKeys)
}

// sourceNamespace is the namespace an event source selects: its own, or the
// Alert's when unset. That default is Flux's cross-namespace rule: an Alert
// sees another namespace only when a source names it.
func sourceNamespace(s notificationv1.CrossNamespaceObjectReference, alertNamespace string) string {
	if s.Namespace == "" {
		return alertNamespace
	}
	return s.Namespace
}

// target is one Alert an event is forwarded for, and its Provider.
type target struct {
	alert    *notificationv1.Alert
	provider types.NamespacedName
}

// matcher finds the Alerts an event matches, reading through the manager's
// cache without deep copies: the Alerts it returns are shared and must not
// be modified.
type matcher struct {
	reader               client.Reader
	noCrossNamespaceRefs bool
	patterns             patternCache
	log                  logr.Logger
	// warn reports a broken Alert to its owner; it may be nil.
	warn func(alert *notificationv1.Alert, reason, message string)
}

// match returns the Alerts that forward the event.
func (m *matcher) match(ctx context.Context, in *incoming) ([]target, error) {
	obj := in.event.InvolvedObject
	seen := map[types.NamespacedName]bool{}
	labels := &lazyLabels{}
	var out []target
	for _, key := range []string{obj.Namespace + "/" + obj.Kind, "*/" + obj.Kind} {
		var list notificationv1.AlertList
		if err := m.reader.List(ctx, &list, client.MatchingFields{AlertSourceIndex: key}, client.UnsafeDisableDeepCopy); err != nil {
			return nil, fmt.Errorf("listing Alerts: %w", err)
		}
		for i := range list.Items {
			a := &list.Items[i]
			id := types.NamespacedName{Namespace: a.Namespace, Name: a.Name}
			if seen[id] {
				continue
			}
			seen[id] = true
			if m.accepts(ctx, a, in, labels) {
				out = append(out, target{alert: a, provider: types.NamespacedName{Namespace: a.Namespace, Name: a.Spec.ProviderRef.Name}})
			}
		}
	}
	return out, nil
}

// accepts applies one Alert's filters in the order that is cheapest first:
// suspension, namespace, severity, source selector, then the message
// regular expressions.
func (m *matcher) accepts(ctx context.Context, a *notificationv1.Alert, in *incoming, labels *lazyLabels) bool {
	e := &in.event
	if a.Spec.Suspend {
		return false
	}
	if m.noCrossNamespaceRefs && e.InvolvedObject.Namespace != a.Namespace {
		return false
	}
	if a.Spec.EventSeverity == eventv1.EventSeverityError && e.Severity != eventv1.EventSeverityError {
		return false
	}
	selected := false
	for _, s := range a.Spec.EventSources {
		if sourceSelects(s, a.Namespace, e.InvolvedObject, func() map[string]string { return labels.get(ctx, m, e.InvolvedObject) }) {
			selected = true
			break
		}
	}
	if !selected {
		return false
	}
	ok, err := messageAllowed(&m.patterns, a.Spec.InclusionList, a.Spec.ExclusionList, e.Message)
	if err != nil {
		if m.warn != nil {
			m.warn(a, notificationv1.InvalidConfigReason, err.Error())
		}
		return false
	}
	return ok
}

// sourceSelects says whether an event source selects the object: same kind,
// namespace (or "*"), and name, or "*" with all of matchLabels on the
// object. labels is called only when needed, since it may read the cache.
func sourceSelects(s notificationv1.CrossNamespaceObjectReference, alertNamespace string, obj corev1.ObjectReference, labels func() map[string]string) bool {
	if s.Kind != obj.Kind {
		return false
	}
	if ns := sourceNamespace(s, alertNamespace); ns != "*" && ns != obj.Namespace {
		return false
	}
	if s.Name != "*" {
		return s.Name == obj.Name
	}
	if len(s.MatchLabels) == 0 {
		return true
	}
	have := labels()
	if have == nil {
		return false
	}
	for k, v := range s.MatchLabels {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// messageAllowed applies the inclusion list (the message must match one
// expression, when any are set) and the exclusion list (no expression may
// match). An expression that does not compile fails the Alert rather than
// silently widening or narrowing it.
func messageAllowed(p *patternCache, include, exclude []string, msg string) (bool, error) {
	if len(include) > 0 {
		found := false
		for _, expr := range include {
			re, err := p.get(expr)
			if err != nil {
				return false, fmt.Errorf("inclusionList: %w", err)
			}
			if re.MatchString(msg) {
				found = true
				break
			}
		}
		if !found {
			return false, nil
		}
	}
	for _, expr := range exclude {
		re, err := p.get(expr)
		if err != nil {
			return false, fmt.Errorf("exclusionList: %w", err)
		}
		if re.MatchString(msg) {
			return false, nil
		}
	}
	return true, nil
}

// lazyLabels reads the event object's labels at most once per event.
type lazyLabels struct {
	done   bool
	labels map[string]string
}

// get returns the object's labels, or nil when they cannot be read; a
// missing object matches no label selector.
func (l *lazyLabels) get(ctx context.Context, m *matcher, ref corev1.ObjectReference) map[string]string {
	if l.done {
		return l.labels
	}
	l.done = true
	gvk, err := kinds.Resolve(ref.APIVersion, ref.Kind)
	if err != nil {
		return nil
	}
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(gvk)
	if err := m.reader.Get(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}, obj, client.UnsafeDisableDeepCopy); err != nil {
		m.log.V(1).Info("cannot read the labels of the event's object", "kind", ref.Kind,
			"namespace", ref.Namespace, "name", ref.Name, "error", err.Error())
		return nil
	}
	l.labels = obj.GetLabels()
	if l.labels == nil {
		l.labels = map[string]string{}
	}
	return l.labels
}

// maxPatterns bounds the compiled-expression cache; Alerts hold few
// distinct expressions, so reaching it means churn and a reset is cheap.
const maxPatterns = 1024

// patternCache compiles each regular expression once instead of once per
// event.
type patternCache struct {
	mu sync.RWMutex
	m  map[string]patternEntry
}

type patternEntry struct {
	re  *regexp.Regexp
	err error
}

func (c *patternCache) get(expr string) (*regexp.Regexp, error) {
	c.mu.RLock()
	e, ok := c.m[expr]
	c.mu.RUnlock()
	if ok {
		return e.re, e.err
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		err = fmt.Errorf("invalid regular expression %q: %w", expr, err)
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxPatterns {
		c.m = map[string]patternEntry{}
	}
	c.m[expr] = patternEntry{re: re, err: err}
	c.mu.Unlock()
	return re, err
}
