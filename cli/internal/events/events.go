// Package events lists and watches the Kubernetes Events of Flux objects,
// as `flux events` does: every Ferry or Flux controller records one per
// reconcile outcome, so they are the object's recent history. The CLI's
// `events` and the web UI's object page share it.
package events

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/ferrycd/ferry/cli/internal/objects"
)

// fluxGroups suffix the API groups whose objects' events are shown.
const fluxGroups = ".toolkit.fluxcd.io"

// Filter selects events.
type Filter struct {
	// Namespace is "" for all namespaces.
	Namespace string
	// Kind and Name, when set, select one object's events.
	Kind objects.Kind
	Name string
}

func (f Filter) options() metav1.ListOptions {
	if f.Name == "" {
		return metav1.ListOptions{}
	}
	return metav1.ListOptions{FieldSelector: fields.Set{
		"involvedObject.kind": f.Kind.Kind, "involvedObject.name": f.Name,
	}.String()}
}

// Matches is true for an event of a Flux object the filter selects.
func (f Filter) Matches(e *corev1.Event) bool {
	io := e.InvolvedObject
	if !strings.HasSuffix(groupOf(io.APIVersion), fluxGroups) {
		return false
	}
	return f.Name == "" || (io.Kind == f.Kind.Kind && io.Name == f.Name)
}

func groupOf(apiVersion string) string {
	g, _, ok := strings.Cut(apiVersion, "/")
	if !ok {
		return ""
	}
	return g
}

// List returns the matching events, oldest first, and the list's
// resourceVersion, from which Watch goes on without repeating them.
func List(ctx context.Context, cs kubernetes.Interface, f Filter) ([]corev1.Event, string, error) {
	list, err := cs.CoreV1().Events(f.Namespace).List(ctx, f.options())
	if err != nil {
		return nil, "", fmt.Errorf("listing events: %w", err)
	}
	var out []corev1.Event
	for i := range list.Items {
		if f.Matches(&list.Items[i]) {
			out = append(out, list.Items[i])
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return LastSeen(&out[i]).Before(LastSeen(&out[j])) })
	return out, list.ResourceVersion, nil
}

// Watch calls fn for each matching event added or updated after
// resourceVersion until ctx ends.
func Watch(ctx context.Context, cs kubernetes.Interface, f Filter, resourceVersion string, fn func(*corev1.Event) error) error {
	opts := f.options()
	opts.ResourceVersion = resourceVersion
	w, err := cs.CoreV1().Events(f.Namespace).Watch(ctx, opts)
	if err != nil {
		return fmt.Errorf("watching events: %w", err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil
			}
			if ev.Type != watch.Added && ev.Type != watch.Modified {
				continue
			}
			e, ok := ev.Object.(*corev1.Event)
			if !ok || !f.Matches(e) {
				continue
			}
			if err := fn(e); err != nil {
				return err
			}
		}
	}
}

// LastSeen is when the event last happened.
func LastSeen(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// Printer writes events as a table, one row per event.
type Printer struct {
	tw            *tabwriter.Writer
	withNamespace bool
}

// NewPrinter writes to w; the NAMESPACE column shows when withNamespace.
func NewPrinter(w io.Writer, withNamespace bool) *Printer {
	p := &Printer{tw: tabwriter.NewWriter(w, 0, 4, 3, ' ', 0), withNamespace: withNamespace}
	p.row("LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE")
	return p
}

// Print writes one event; Flush shows what was printed, aligned.
func (p *Printer) Print(e *corev1.Event, now time.Time) {
	p.row(objects.Age(LastSeen(e), now), e.Type, e.Reason, e.InvolvedObject.Kind+"/"+e.InvolvedObject.Name,
		strings.Join(strings.Fields(e.Message), " "), e.Namespace)
}

// Flush writes the rows printed so far. A watch flushes after each event
// so it shows at once; its columns are then aligned row by row.
func (p *Printer) Flush() error { return p.tw.Flush() }

func (p *Printer) row(cols ...string) {
	ns := "NAMESPACE"
	if len(cols) == 6 {
		ns, cols = cols[5], cols[:5]
	}
	if p.withNamespace {
		cols = append([]string{ns}, cols...)
	}
	fmt.Fprintln(p.tw, strings.Join(cols, "\t"))
}
