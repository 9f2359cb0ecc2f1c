package objects

import (
	"fmt"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Ready states as the Ready condition's status has them; Unknown also
// stands for an object no controller has reported on yet.
const (
	ReadyTrue    = string(metav1.ConditionTrue)
	ReadyFalse   = string(metav1.ConditionFalse)
	ReadyUnknown = string(metav1.ConditionUnknown)
)

// Summary is what a person needs to see of one object at a glance.
type Summary struct {
	Namespace string `json:"namespace"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	// Ready is True, False or Unknown.
	Ready   string `json:"ready"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// Revision is the artifact revision of a source, the last applied
	// revision of a Kustomization, the chart version of a HelmRelease.
	Revision  string `json:"revision,omitempty"`
	Suspended bool   `json:"suspended"`
	// Reconciling and Stalled mirror kstatus's conditions, present only
	// while true.
	Reconciling bool      `json:"reconciling,omitempty"`
	Stalled     bool      `json:"stalled,omitempty"`
	Created     time.Time `json:"created"`
	// Generation and ObservedGeneration tell whether the status is about
	// the current spec.
	Generation         int64 `json:"generation"`
	ObservedGeneration int64 `json:"observedGeneration"`
	// Rollout is set for a Rollout: its phase, step and weight.
	Rollout *RolloutState `json:"rollout,omitempty"`
}

// Ref is Kind/Name, as the table prints it.
func (s Summary) Ref() string { return s.Kind + "/" + s.Name }

// Failing is true for an object that needs a person's attention.
func (s Summary) Failing() bool { return s.Ready == ReadyFalse || s.Stalled }

// Summarize reads an object's summary from its status.
func Summarize(obj *unstructured.Unstructured) Summary {
	s := Summary{
		Namespace:  obj.GetNamespace(),
		Kind:       obj.GetKind(),
		Name:       obj.GetName(),
		Ready:      ReadyUnknown,
		Created:    obj.GetCreationTimestamp().Time,
		Generation: obj.GetGeneration(),
	}
	s.Suspended, _, _ = unstructured.NestedBool(obj.Object, "spec", "suspend")
	s.ObservedGeneration, _, _ = unstructured.NestedInt64(obj.Object, "status", "observedGeneration")
	for _, c := range Conditions(obj) {
		switch c.Type {
		case "Ready":
			s.Ready, s.Reason, s.Message = string(c.Status), c.Reason, c.Message
		case "Reconciling":
			s.Reconciling = c.Status == metav1.ConditionTrue
		case "Stalled":
			s.Stalled = c.Status == metav1.ConditionTrue
		}
	}
	s.Message = withPolicyState(obj, s.Message)
	s.Revision = Revision(obj)
	if obj.GetKind() == Rollout.Kind {
		summarizeRollout(obj, &s)
	}
	return s
}

// withPolicyState appends what Ferry's sync policy holds for the object to
// its Ready message, so `ferry get` and the UI show it beside Flux's status:
// a sync window blocking it, drift reported in warn mode, and retries under
// spec.retry. Objects of Flux's own controllers carry none of these.
func withPolicyState(obj *unstructured.Unstructured, msg string) string {
	var notes []string
	for _, c := range Conditions(obj) {
		if c.Status != metav1.ConditionTrue {
			continue
		}
		switch c.Type {
		case "SyncWindow":
			notes = append(notes, c.Message)
		case "Drifted":
			notes = append(notes, "drifted: "+c.Message)
		}
	}
	if n, _, _ := unstructured.NestedInt64(obj.Object, "status", "retries"); n > 0 {
		note := fmt.Sprintf("retry %d", n)
		if next, _, _ := unstructured.NestedString(obj.Object, "status", "nextRetryAt"); next != "" {
			note += " at " + next
		}
		notes = append(notes, note)
	}
	for _, n := range notes {
		if msg != "" {
			msg += "; "
		}
		msg += n
	}
	return msg
}

// Conditions reads status.conditions; malformed entries are skipped.
func Conditions(obj *unstructured.Unstructured) []metav1.Condition {
	raw, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	var out []metav1.Condition
	for _, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		c := metav1.Condition{}
		c.Type, _ = m["type"].(string)
		st, _ := m["status"].(string)
		c.Status = metav1.ConditionStatus(st)
		c.Reason, _ = m["reason"].(string)
		c.Message, _ = m["message"].(string)
		if t, ok := m["lastTransitionTime"].(string); ok {
			if parsed, err := time.Parse(time.RFC3339, t); err == nil {
				c.LastTransitionTime = metav1.NewTime(parsed)
			}
		}
		if g, ok := m["observedGeneration"].(int64); ok {
			c.ObservedGeneration = g
		}
		out = append(out, c)
	}
	return out
}

// Revision is the revision a person cares about for the object's kind.
func Revision(obj *unstructured.Unstructured) string {
	st := func(path ...string) string {
		v, _, _ := unstructured.NestedString(obj.Object, append([]string{"status"}, path...)...)
		return v
	}
	switch obj.GetKind() {
	case Kustomization.Kind:
		if r := st("lastAppliedRevision"); r != "" {
			return r
		}
		return st("lastAttemptedRevision")
	case HelmRelease.Kind:
		history, _, _ := unstructured.NestedSlice(obj.Object, "status", "history")
		if len(history) > 0 {
			if h, ok := history[0].(map[string]any); ok {
				if v, _ := h["chartVersion"].(string); v != "" {
					return v
				}
			}
		}
		return st("lastAttemptedRevision")
	default:
		return st("artifact", "revision")
	}
}

// Age prints a duration as kubectl does (45s, 12m, 3h, 5d).
func Age(since, now time.Time) string {
	if since.IsZero() {
		return "<unknown>"
	}
	d := now.Sub(since)
	switch {
	case d < 0:
		return "0s"
	case d < 2*time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < 2*time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h"
	default:
		return strconv.Itoa(int(d.Hours()/24)) + "d"
	}
}
