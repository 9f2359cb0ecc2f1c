package substitute

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// FuzzSubstitute expands arbitrary templates with an arbitrary value of
// the variable v, directly and through Substitute on a ConfigMap that
// holds the template. Nothing panics; text without "$" is left alone; a
// value is inserted as it is and never expanded again (a value holding
// ${...} must not reach other variables); the result grows at most by the
// value's length per byte of the template, so no template makes memory
// explode; an object that opts out is left untouched. The seed corpus is
// in testdata/fuzz.
func FuzzSubstitute(f *testing.F) {
	f.Add("replicas: ${v}", "3", false)
	f.Add("${v//a/${v}}${v:-${empty:=x}}${#v}${v^^}${v:1:2}${v##*/}", "a/b/a", true)
	f.Add("$${v} $v ${", "${other}", false)
	f.Add("${v:-${v:-${v:-}}}", "", true)

	f.Fuzz(func(t *testing.T, template, val string, strict bool) {
		vars := map[string]string{"v": val, "empty": ""}
		lookup := func(name string) (string, bool) {
			v, ok := vars[name]
			return v, ok
		}

		out, err := expand(template, lookup, strict)
		if err == nil {
			if limit := (len(template) + 1) * (2*len(val) + 2); len(out) > limit {
				t.Fatalf("expand(%q) grew to %d bytes, over %d", template, len(out), limit)
			}
			if !strings.Contains(template, "$") && out != template {
				t.Fatalf("expand(%q) = %q, changed text without expressions", template, out)
			}
		}
		if got, err := expand("${v}", lookup, strict); err != nil || got != val {
			t.Fatalf("expand(${v}) with v=%q = %q, %v", val, got, err)
		}

		obj := configMap(template)
		if err := Substitute([]*unstructured.Unstructured{obj}, vars, strict); err == nil {
			if obj.GetKind() == "" || obj.GetAPIVersion() == "" {
				t.Fatalf("Substitute returned an object without kind or apiVersion: %v", obj.Object)
			}
		}

		off := configMap(template)
		off.SetAnnotations(map[string]string{DisabledKey: DisabledValue})
		before := off.DeepCopy()
		if err := Substitute([]*unstructured.Unstructured{off}, vars, strict); err != nil || !reflect.DeepEqual(before.Object, off.Object) {
			t.Fatalf("Substitute changed an object that opts out: %v", err)
		}
	})
}

func configMap(data string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "cm", "namespace": "apps"},
		"data":     map[string]any{"key": data},
	}}
}
