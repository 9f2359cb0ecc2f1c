package diff

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Masks that stand for Secret values. The plaintext never leaves the
// process: only whether a value stays, changes, appears or goes.
const (
	Masked       = "***"
	MaskedBefore = "*** (before)"
	MaskedAfter  = "*** (after)"
)

// lastApplied is kubectl's annotation holding the whole object as last
// applied, Secret values included.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// MaskSecrets replaces the values of data and stringData in a Secret's live
// and desired forms (either may be nil; objects that are not Secrets are
// left alone) with markers: "***" for a value that is the same in both or
// exists on one side only, "*** (before)" and "*** (after)" for a value
// that changes. stringData is compared with data, as the API server merges
// it into data. kubectl's last-applied annotation is masked too, since it
// holds the values. The objects are changed in place.
func MaskSecrets(live, desired *unstructured.Unstructured) {
	if !isSecret(live) && !isSecret(desired) {
		return
	}
	before, after := secretValues(live), secretValues(desired)
	mask := func(obj *unstructured.Unstructured, mine, other map[string]string, changedMark string) {
		if obj == nil {
			return
		}
		for _, field := range []string{"data", "stringData"} {
			m, ok, _ := unstructured.NestedMap(obj.Object, field)
			if !ok {
				continue
			}
			for k := range m {
				v, inOther := other[k]
				if inOther && v != mine[k] {
					m[k] = changedMark
				} else {
					m[k] = Masked
				}
			}
			_ = unstructured.SetNestedMap(obj.Object, m, field)
		}
		if ann := obj.GetAnnotations(); ann[lastApplied] != "" {
			ann[lastApplied] = Masked
			obj.SetAnnotations(ann)
		}
	}
	mask(live, before, after, MaskedBefore)
	mask(desired, after, before, MaskedAfter)
}

func isSecret(obj *unstructured.Unstructured) bool {
	return obj != nil && obj.GetKind() == "Secret" && (obj.GetAPIVersion() == "v1" || obj.GetAPIVersion() == "")
}

// secretValues reads a Secret's values, stringData in its plain form and
// data base64-encoded as the API stores it; a stringData value is
// encoded first so the two compare.
func secretValues(obj *unstructured.Unstructured) map[string]string {
	out := map[string]string{}
	if obj == nil {
		return out
	}
	data, _, _ := unstructured.NestedMap(obj.Object, "data")
	for k, v := range data {
		s, _ := v.(string)
		out[k] = s
	}
	str, _, _ := unstructured.NestedMap(obj.Object, "stringData")
	for k, v := range str {
		s, _ := v.(string)
		out[k] = encode(s)
	}
	return out
}
