// Package helmvalues composes a HelmRelease's values the way Flux does. It
// lives in pkg, not in helm-controller, because the controller and the
// `ferry diff hr` CLI must compute the very same values (and digest) from
// the same spec, or the diff would show a release the controller never
// makes.
//
// The order, as Flux documents it and as its own tests pin it: the plain
// spec.valuesFrom entries merge at the root in list order, a later one
// overwriting an earlier one; spec.values is merged over them; then every
// entry with a targetPath is set in list order and overwrites everything,
// spec.values included (Flux: "when targetPath is set, it will overwrite
// everything before, including inline values"), which is how `helm --set`
// wins over `--values`. A targetPath value is typed like `helm --set`
// (true, false, null and integers are not strings) unless it is wrapped in
// single or double quotes, which makes it a string as `--set-string` would.
package helmvalues

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/strvals"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
)

// Compose reads the ConfigMaps and Secrets in obj.spec.valuesFrom through
// reader and merges them with spec.values. A missing optional reference is
// skipped; any other error names the reference so the user can fix it.
func Compose(ctx context.Context, reader client.Reader, obj *helmv2.HelmRelease) (map[string]any, error) {
	result := map[string]any{}
	var targeted []helmv2.ValuesReference
	for _, ref := range obj.Spec.ValuesFrom {
		if ref.TargetPath != "" {
			targeted = append(targeted, ref)
			continue
		}
		data, ok, err := read(ctx, reader, obj.Namespace, ref)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		m := map[string]any{}
		if err := yaml.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("unable to read values from key '%s' in %s '%s/%s': %w",
				ref.GetValuesKey(), ref.Kind, obj.Namespace, ref.Name, err)
		}
		result = chartutil.MergeTables(m, result)
	}
	result = chartutil.MergeTables(obj.GetValues(), result)
	for _, ref := range targeted {
		data, ok, err := read(ctx, reader, obj.Namespace, ref)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if err := SetPath(result, ref.TargetPath, string(data)); err != nil {
			return nil, fmt.Errorf("unable to set targetPath '%s' from %s '%s/%s': %w",
				ref.TargetPath, ref.Kind, obj.Namespace, ref.Name, err)
		}
	}
	return result, nil
}

// SetPath sets value at path in `helm --set` syntax, as Flux does for a
// valuesFrom targetPath: a value wrapped in single or double quotes is a
// string (--set-string), any other is typed by Helm's --set rules, so
// false is a boolean, 3 an integer and null a null (which Helm reads as
// "drop the chart's default").
func SetPath(values map[string]any, path, value string) error {
	quoted := len(value) >= 2 &&
		((strings.HasPrefix(value, `"`) && strings.HasSuffix(value, `"`)) ||
			(strings.HasPrefix(value, "'") && strings.HasSuffix(value, "'")))
	if quoted {
		return strvals.ParseIntoString(path+"="+value[1:len(value)-1], values)
	}
	return strvals.ParseInto(path+"="+value, values)
}

// read returns the valuesKey of the referenced object; ok is false when an
// optional reference or its key is missing.
func read(ctx context.Context, reader client.Reader, namespace string, ref helmv2.ValuesReference) ([]byte, bool, error) {
	key := types.NamespacedName{Namespace: namespace, Name: ref.Name}
	var data []byte
	var found bool
	switch ref.Kind {
	case "ConfigMap":
		cm := &corev1.ConfigMap{}
		if err := reader.Get(ctx, key, cm); err != nil {
			return missing(ref, key, err)
		}
		if s, ok := cm.Data[ref.GetValuesKey()]; ok {
			data, found = []byte(s), true
		} else if b, ok := cm.BinaryData[ref.GetValuesKey()]; ok {
			data, found = b, true
		}
	case "Secret":
		s := &corev1.Secret{}
		if err := reader.Get(ctx, key, s); err != nil {
			return missing(ref, key, err)
		}
		data, found = s.Data[ref.GetValuesKey()]
	default:
		return nil, false, fmt.Errorf("unsupported valuesFrom kind '%s': use ConfigMap or Secret", ref.Kind)
	}
	if !found {
		if ref.Optional {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("missing key '%s' in %s '%s'", ref.GetValuesKey(), ref.Kind, key)
	}
	return data, true, nil
}

func missing(ref helmv2.ValuesReference, key types.NamespacedName, err error) ([]byte, bool, error) {
	if apierrors.IsNotFound(err) && ref.Optional {
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("could not get %s '%s' named in spec.valuesFrom: %w", ref.Kind, key, err)
}

// Digest returns the "sha256:<hex>" digest of values. JSON encoding sorts
// map keys, so equal values always give the same digest; nil and empty
// values are the same.
func Digest(values map[string]any) string {
	if values == nil {
		values = map[string]any{}
	}
	b, err := json.Marshal(values)
	if err != nil {
		// Values come from YAML or JSON, so they always marshal; hash the
		// error text so a broken value still differs from any good one.
		b = []byte(err.Error())
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
