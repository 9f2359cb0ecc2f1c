package substitute

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
)

// Vars collects the variables of a postBuild: the data of the
// substituteFrom ConfigMaps and Secrets in the Kustomization's namespace,
// in order, each overriding the ones before, then spec.postBuild.substitute
// on top, which wins over all of them (Flux's precedence).
//
// A missing object is an error unless its reference is optional. As in
// Flux, newlines are removed from every value: substitution is textual, and
// a newline would break, or worse restructure, the YAML it lands in.
func Vars(ctx context.Context, c client.Reader, namespace string, pb *kustomizev1.PostBuild) (map[string]string, error) {
	vars := map[string]string{}
	if pb == nil {
		return vars, nil
	}
	for _, ref := range pb.SubstituteFrom {
		data, err := refData(ctx, c, namespace, ref)
		if err != nil {
			return nil, err
		}
		for k, v := range data {
			vars[k] = v
		}
	}
	for k, v := range pb.Substitute {
		vars[k] = v
	}
	for k, v := range vars {
		vars[k] = strings.ReplaceAll(v, "\n", "")
	}
	if err := ValidateNames(vars); err != nil {
		return nil, fmt.Errorf("spec.postBuild: %w", err)
	}
	return vars, nil
}

// refData reads the data of one substituteFrom reference; an optional
// reference to a missing object has none.
func refData(ctx context.Context, c client.Reader, namespace string, ref kustomizev1.SubstituteReference) (map[string]string, error) {
	key := types.NamespacedName{Namespace: namespace, Name: ref.Name}
	var (
		obj  client.Object
		data func() map[string]string
	)
	switch ref.Kind {
	case "ConfigMap":
		cm := &corev1.ConfigMap{}
		obj, data = cm, func() map[string]string { return cm.Data }
	case "Secret":
		s := &corev1.Secret{}
		obj, data = s, func() map[string]string {
			out := make(map[string]string, len(s.Data))
			for k, v := range s.Data {
				out[k] = string(v)
			}
			return out
		}
	default:
		return nil, fmt.Errorf("spec.postBuild.substituteFrom: kind %q of '%s' is not supported: use ConfigMap or Secret", ref.Kind, ref.Name)
	}
	if err := c.Get(ctx, key, obj); err != nil {
		if apierrors.IsNotFound(err) {
			if ref.Optional {
				return nil, nil
			}
			return nil, fmt.Errorf("spec.postBuild.substituteFrom: %s '%s' not found; create it or mark the reference optional", ref.Kind, key)
		}
		return nil, fmt.Errorf("spec.postBuild.substituteFrom: failed to get %s '%s': %w", ref.Kind, key, err)
	}
	return data(), nil
}
