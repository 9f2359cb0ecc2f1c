package provider

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// Colours used by the chat formats: green for info, red for errors.
const (
	colorInfo  = "#2EB886"
	colorError = "#A30200"
)

// isError says whether the event reports a failure.
func isError(e eventv1.Event) bool {
	return e.Severity == eventv1.EventSeverityError
}

// objectName names the event's object the way kubectl users read it:
// "Kustomization apps/webapp".
func objectName(e eventv1.Event) string {
	return e.InvolvedObject.Kind + " " + e.InvolvedObject.Namespace + "/" + e.InvolvedObject.Name
}

// headline is the one-line summary chats show in notifications and
// previews.
func headline(e eventv1.Event) string {
	return objectName(e) + ": " + e.Reason
}

// kv is one metadata entry.
type kv struct{ key, value string }

// metadata returns the event's metadata sorted by key, so every payload is
// deterministic and the "summary" key, when present, comes first.
func metadata(e eventv1.Event) []kv {
	out := make([]kv, 0, len(e.Metadata))
	for k, v := range e.Metadata {
		out = append(out, kv{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].key == "summary") != (out[j].key == "summary") {
			return out[i].key == "summary"
		}
		return out[i].key < out[j].key
	})
	return out
}

// truncate shortens s to at most max runes, marking the cut with an
// ellipsis; services reject or cut longer fields themselves.
func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	runes := []rune(s)
	return string(runes[:max-1]) + "…"
}

// humanReason turns a CamelCase reason into words:
// "ReconciliationSucceeded" becomes "reconciliation succeeded".
func humanReason(reason string) string {
	var b strings.Builder
	for i, r := range reason {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte(' ')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// firstLine returns the first line of a message, for fields that hold one.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
