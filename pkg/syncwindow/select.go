package syncwindow

import (
	"context"
	"fmt"
	"path"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	policyv1 "github.com/ferrycd/ferry/pkg/apis/policy/v1alpha1"
)

// FromSpec parses one SyncWindow object. Its error is the message of the
// window's Ready condition.
func FromSpec(sw *policyv1.SyncWindow) (Window, error) {
	return Parse(sw.Namespace+"/"+sw.Name, Kind(sw.Spec.Kind), sw.Spec.Schedule, sw.Spec.Duration.Duration, sw.Spec.TimeZone, sw.Spec.ManualSync)
}

// Selects reports whether the window's selector picks the object of kind.
func Selects(sw *policyv1.SyncWindow, kind string, obj metav1.Object) (bool, error) {
	sel := sw.Spec.Selector
	if len(sel.Kinds) > 0 {
		found := false
		for _, k := range sel.Kinds {
			found = found || string(k) == kind
		}
		if !found {
			return false, nil
		}
	}
	if len(sel.Names) > 0 {
		found := false
		for _, glob := range sel.Names {
			ok, err := path.Match(glob, obj.GetName())
			if err != nil {
				return false, fmt.Errorf("invalid name glob %q: %w", glob, err)
			}
			found = found || ok
		}
		if !found {
			return false, nil
		}
	}
	if sel.LabelSelector != nil {
		ls, err := metav1.LabelSelectorAsSelector(sel.LabelSelector)
		if err != nil {
			return false, fmt.Errorf("invalid labelSelector: %w", err)
		}
		if !ls.Matches(labels.Set(obj.GetLabels())) {
			return false, nil
		}
	}
	return true, nil
}

// ForObject returns the parsed windows of the object's namespace that
// select it. Suspended and invalid windows block nothing, so they are left
// out (an invalid window reports itself in its own Ready condition).
func ForObject(ctx context.Context, r client.Reader, kind string, obj metav1.Object) ([]Window, error) {
	var list policyv1.SyncWindowList
	if err := r.List(ctx, &list, client.InNamespace(obj.GetNamespace())); err != nil {
		return nil, fmt.Errorf("listing sync windows: %w", err)
	}
	var out []Window
	for i := range list.Items {
		sw := &list.Items[i]
		if sw.Spec.Suspend {
			continue
		}
		if ok, err := Selects(sw, kind, obj); err != nil || !ok {
			continue
		}
		w, err := FromSpec(sw)
		if err != nil {
			continue
		}
		out = append(out, w)
	}
	return out, nil
}

// Gate is the sync window decision for one reconcile of an object.
type Gate struct {
	Verdict
	// Proceed is true when the reconcile may apply: not blocked, or
	// blocked with manualSync and an explicit reconcile request pending.
	Proceed bool
}

// Decide evaluates the windows selecting obj at now. manualRequest is true
// when the object carries a reconcile.fluxcd.io/requestedAt it has not
// handled yet.
func Decide(ctx context.Context, r client.Reader, kind string, obj metav1.Object, manualRequest bool, now time.Time) (Gate, error) {
	windows, err := ForObject(ctx, r, kind, obj)
	if err != nil {
		return Gate{}, err
	}
	v := Evaluate(windows, now)
	return Gate{Verdict: v, Proceed: !v.Blocked || (v.Manual && manualRequest)}, nil
}

// Message is the SyncWindow condition's message for a blocked object.
func (g Gate) Message() string {
	msg := "sync blocked: " + g.Reason
	if !g.NextOpen.IsZero() {
		msg += fmt.Sprintf("; opens next at %s", g.NextOpen.UTC().Format(time.RFC3339))
	}
	if g.Manual {
		msg += "; a manual reconcile request is let through"
	}
	return msg
}

// NextChange is when a window's active state flips next after now, within
// the search horizon; zero if never.
func NextChange(w Window, now time.Time) time.Time {
	if end, active := w.activeUntil(now); active {
		return end
	}
	return w.nextActivation(now)
}
