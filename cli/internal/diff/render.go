package diff

import (
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func encode(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// Clean drops what the API server writes and a person never edits, so a
// diff shows only what applying would change: managedFields,
// resourceVersion, generation, uid, creationTimestamp and status.
func Clean(obj *unstructured.Unstructured) *unstructured.Unstructured {
	if obj == nil {
		return nil
	}
	c := obj.DeepCopy()
	for _, f := range []string{"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(c.Object, "status")
	if md, ok := c.Object["metadata"].(map[string]any); ok && len(md) == 0 {
		delete(c.Object, "metadata")
	}
	return c
}

// toYAML renders an object for a diff; nil is the empty document.
func toYAML(obj *unstructured.Unstructured) (string, error) {
	if obj == nil {
		return "", nil
	}
	b, err := yaml.Marshal(obj.Object)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Unified returns the unified diff of live and desired (either may be nil:
// created or pruned), cleaned of server noise, with the given context
// lines. Secrets must be masked by the caller before.
func Unified(name string, live, desired *unstructured.Unstructured, context int) (string, error) {
	a, err := toYAML(Clean(live))
	if err != nil {
		return "", err
	}
	b, err := toYAML(Clean(desired))
	if err != nil {
		return "", err
	}
	if a == b {
		return "", nil
	}
	return difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(a), B: difflib.SplitLines(b),
		FromFile: "live/" + name, ToFile: "merged/" + name, Context: context,
	})
}

// Colors of a rendered diff: on a terminal only.
type palette struct{ add, del, hunk, head, reset string }

var (
	noColor = palette{}
	ansi    = palette{add: "\x1b[32m", del: "\x1b[31m", hunk: "\x1b[36m", head: "\x1b[1m", reset: "\x1b[0m"}
)

// symbol is the first column of an object's header line.
var symbol = map[Action]string{Created: "+", Configured: "~", Replaced: "!", Pruned: "-", Unchanged: "=", Skipped: "?"}

// Print writes the result for a person: one header per object that
// changes, with its unified diff; unchanged objects are counted, skipped
// ones named with the reason; a summary line ends it.
func Print(w io.Writer, r *Result, color bool) error {
	p := noColor
	if color {
		p = ansi
	}
	var b strings.Builder
	for _, o := range r.Objects {
		switch o.Action {
		case Unchanged:
			continue
		case Skipped:
			fmt.Fprintf(&b, "%s? %s skipped: %s%s\n", p.head, o.Ref, o.Note, p.reset)
			continue
		}
		what := string(o.Action)
		if o.Drift {
			what += " (drift: the cluster differs from the last applied revision)"
		}
		fmt.Fprintf(&b, "%s%s %s %s%s\n", p.head, symbol[o.Action], o.Ref, what, p.reset)
		if o.Note != "" {
			fmt.Fprintf(&b, "  %s\n", o.Note)
		}
		for _, line := range strings.SplitAfter(o.Diff, "\n") {
			if line == "" {
				continue
			}
			switch {
			case strings.HasPrefix(line, "+++"), strings.HasPrefix(line, "---"):
				b.WriteString(p.head + line + p.reset)
			case strings.HasPrefix(line, "+"):
				b.WriteString(p.add + line + p.reset)
			case strings.HasPrefix(line, "-"):
				b.WriteString(p.del + line + p.reset)
			case strings.HasPrefix(line, "@@"):
				b.WriteString(p.hunk + line + p.reset)
			default:
				b.WriteString(line)
			}
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	c := r.Counts()
	fmt.Fprintf(&b, "%d created, %d changed, %d replaced, %d pruned, %d unchanged, %d skipped",
		c[Created], c[Configured], c[Replaced], c[Pruned], c[Unchanged], c[Skipped])
	if r.Revision != "" {
		fmt.Fprintf(&b, " (against %s)", r.Revision)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteManifests writes objects as a multi-document YAML stream, with the
// owner labels the controller sets and every Secret value masked.
func WriteManifests(w io.Writer, objs []*unstructured.Unstructured, owner Owner) error {
	for _, o := range objs {
		c := o.DeepCopy()
		if owner.Group != "" {
			labels := c.GetLabels()
			if labels == nil {
				labels = map[string]string{}
			}
			labels[owner.Group+"/name"] = owner.Name
			labels[owner.Group+"/namespace"] = owner.Namespace
			c.SetLabels(labels)
		}
		MaskSecrets(nil, c)
		y, err := toYAML(c)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, "---\n"+y); err != nil {
			return err
		}
	}
	return nil
}
