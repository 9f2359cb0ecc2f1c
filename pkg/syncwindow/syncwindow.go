// Package syncwindow decides whether a Kustomization or HelmRelease may sync
// now, from the sync windows that select it, with Argo CD's rules for
// combining them: any active deny window blocks; if allow windows exist and
// none is active, the object is blocked; otherwise it may sync. A window with
// manualSync lets an explicit reconcile request through while it blocks.
//
// The decision is a pure function of the windows and a clock passed in, so
// every rule is table-tested without a cluster. Cron schedules are parsed by
// robfig/cron, the scheduling library of the Go ecosystem; what it lacks is
// "which activation covers now" and "when does the combination open next",
// which are computed here from its Next.
package syncwindow

import (
	"fmt"
	"sort"
	"time"

	"github.com/robfig/cron/v3"
)

// Kind says whether a window allows or denies syncs while it is active.
type Kind string

const (
	// Allow windows permit syncs while active; when any exist, syncs
	// outside all of them are blocked.
	Allow Kind = "allow"
	// Deny windows block syncs while active, whatever allow windows say.
	Deny Kind = "deny"
)

// Window is one parsed sync window.
type Window struct {
	// Name identifies the window in messages (namespace/name).
	Name string
	Kind Kind
	// Duration is how long the window stays active after each activation.
	Duration time.Duration
	// ManualSync lets an explicit reconcile request through while the
	// window blocks.
	ManualSync bool

	schedule cron.Schedule
	location *time.Location
}

// parser accepts the five standard cron fields and the @-descriptors
// (@daily, @every 1h), as Argo CD's windows do.
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Parse builds a Window from its spec fields. An empty timeZone means UTC.
// The error names the field that is wrong, for the window's Ready condition.
func Parse(name string, kind Kind, schedule string, duration time.Duration, timeZone string, manualSync bool) (Window, error) {
	w := Window{Name: name, Kind: kind, Duration: duration, ManualSync: manualSync}
	if kind != Allow && kind != Deny {
		return w, fmt.Errorf("invalid kind %q: must be allow or deny", kind)
	}
	if duration <= 0 {
		return w, fmt.Errorf("invalid duration %s: must be positive", duration)
	}
	sched, err := parser.Parse(schedule)
	if err != nil {
		return w, fmt.Errorf("invalid schedule %q: %w", schedule, err)
	}
	loc := time.UTC
	if timeZone != "" {
		if loc, err = time.LoadLocation(timeZone); err != nil {
			return w, fmt.Errorf("invalid timeZone %q: %w", timeZone, err)
		}
	}
	w.schedule, w.location = sched, loc
	return w, nil
}

// ActiveAt reports whether the window is active at t.
func (w Window) ActiveAt(t time.Time) bool {
	_, active := w.activeUntil(t)
	return active
}

// activeUntil returns the end of the activation covering t, if any: some
// activation s has s <= t < s+Duration. The first activation after
// t-Duration is the only candidate, since later ones start after it.
func (w Window) activeUntil(t time.Time) (time.Time, bool) {
	s := w.schedule.Next(t.In(w.location).Add(-w.Duration))
	if s.After(t) {
		return time.Time{}, false
	}
	return s.Add(w.Duration), true
}

// nextActivation is the first activation strictly after t.
func (w Window) nextActivation(t time.Time) time.Time {
	return w.schedule.Next(t.In(w.location))
}

// Verdict is the decision for one object at one time.
type Verdict struct {
	// Blocked is true when the object must not sync now (unless Manual).
	Blocked bool
	// Manual is true when a blocking state lets an explicit reconcile
	// request through, as in Argo CD: every active deny window has
	// manualSync, or, outside all allow windows, any allow window has it.
	Manual bool
	// Reason names the windows that decide, for the SyncWindow condition.
	Reason string
	// NextOpen is when syncs are allowed again; zero when not blocked or
	// when no opening was found within the search horizon.
	NextOpen time.Time
}

// horizon bounds the search for the next opening: a combination that stays
// closed for longer is reported without a time.
const horizon = 31 * 24 * time.Hour

// Evaluate applies Argo CD's combination rules to the windows that select
// an object, at now.
func Evaluate(windows []Window, now time.Time) Verdict {
	v := evaluateAt(windows, now)
	if v.Blocked {
		v.NextOpen = nextOpen(windows, now)
	}
	return v
}

func evaluateAt(windows []Window, now time.Time) Verdict {
	var activeDeny, activeAllow, allows []Window
	for _, w := range windows {
		active := w.ActiveAt(now)
		switch w.Kind {
		case Deny:
			if active {
				activeDeny = append(activeDeny, w)
			}
		case Allow:
			allows = append(allows, w)
			if active {
				activeAllow = append(activeAllow, w)
			}
		}
	}
	switch {
	case len(activeDeny) > 0:
		return Verdict{Blocked: true, Manual: allManual(activeDeny), Reason: "denied by active window " + names(activeDeny)}
	case len(allows) > 0 && len(activeAllow) == 0:
		return Verdict{Blocked: true, Manual: anyManual(allows), Reason: "outside every allow window (" + names(allows) + ")"}
	case len(activeAllow) > 0:
		return Verdict{Reason: "allowed by active window " + names(activeAllow)}
	default:
		return Verdict{}
	}
}

// nextOpen finds the first moment after now at which the combination
// allows syncs. The state can only change where a window starts or ends,
// so only those instants are evaluated.
func nextOpen(windows []Window, now time.Time) time.Time {
	var candidates []time.Time
	limit := now.Add(horizon)
	for _, w := range windows {
		// The end of an activation that covers now is a boundary too.
		if end, active := w.activeUntil(now); active {
			candidates = append(candidates, end)
		}
		for s, n := w.nextActivation(now), 0; !s.After(limit) && n < 1000; s, n = w.nextActivation(s), n+1 {
			candidates = append(candidates, s, s.Add(w.Duration))
		}
	}
	sort.Slice(candidates, func(i, j int) bool { return candidates[i].Before(candidates[j]) })
	for _, c := range candidates {
		if c.After(now) && !evaluateAt(windows, c).Blocked {
			return c
		}
	}
	return time.Time{}
}

func allManual(ws []Window) bool {
	for _, w := range ws {
		if !w.ManualSync {
			return false
		}
	}
	return true
}

func anyManual(ws []Window) bool {
	for _, w := range ws {
		if w.ManualSync {
			return true
		}
	}
	return false
}

func names(ws []Window) string {
	s := ""
	for i, w := range ws {
		if i > 0 {
			s += ", "
		}
		s += w.Name
	}
	return s
}
