package objects

import (
	"fmt"
	"strconv"
	"strings"
)

// Selector filters summaries by state, as `--status-selector ready=false`.
// Every term must match.
type Selector struct {
	terms []term
}

type term struct {
	key, value string
}

// ParseSelector reads comma-separated key=value terms: ready=true|false|
// unknown, suspended=true|false, reconciling=true|false,
// stalled=true|false. The empty string selects everything.
func ParseSelector(s string) (Selector, error) {
	var sel Selector
	if strings.TrimSpace(s) == "" {
		return sel, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.ToLower(strings.TrimSpace(v))
		if !ok {
			return sel, fmt.Errorf("status selector %q: want key=value, e.g. ready=false", part)
		}
		switch k {
		case "ready":
			if v != "true" && v != "false" && v != "unknown" {
				return sel, fmt.Errorf("status selector %q: ready is true, false or unknown", part)
			}
		case "suspended", "reconciling", "stalled":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return sel, fmt.Errorf("status selector %q: %s is true or false", part, k)
			}
			v = strconv.FormatBool(b)
		default:
			return sel, fmt.Errorf("status selector %q: unknown key %q (ready, suspended, reconciling, stalled)", part, k)
		}
		sel.terms = append(sel.terms, term{key: k, value: v})
	}
	return sel, nil
}

// Matches is true when s satisfies every term.
func (sel Selector) Matches(s Summary) bool {
	for _, t := range sel.terms {
		var got string
		switch t.key {
		case "ready":
			got = strings.ToLower(s.Ready)
		case "suspended":
			got = strconv.FormatBool(s.Suspended)
		case "reconciling":
			got = strconv.FormatBool(s.Reconciling)
		case "stalled":
			got = strconv.FormatBool(s.Stalled)
		}
		if got != t.value {
			return false
		}
	}
	return true
}

// Filter keeps the summaries sel matches, in order.
func (sel Selector) Filter(items []Summary) []Summary {
	if len(sel.terms) == 0 {
		return items
	}
	out := items[:0:0]
	for _, s := range items {
		if sel.Matches(s) {
			out = append(out, s)
		}
	}
	return out
}
