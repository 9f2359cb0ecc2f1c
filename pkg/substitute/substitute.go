// Package substitute implements a Kustomization's postBuild: ${var}
// substitution in the built objects, with the variables of
// spec.postBuild.substitute and spec.postBuild.substituteFrom.
//
// Substitution is textual, on each object's YAML, exactly as in Flux: users
// rely on that, for example to turn a number into a string with
// ${quote}${id}${quote}.
//
// It lives in pkg so that the ferry CLI substitutes exactly as the
// controller does when it builds a Kustomization for a diff.
package substitute

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

const (
	// DisabledKey, set to DisabledValue as a label or an annotation, keeps an
	// object out of substitution.
	DisabledKey = "kustomize.toolkit.fluxcd.io/substitute"
	// DisabledValue is the value of DisabledKey that turns substitution off.
	DisabledValue = "disabled"
)

// nameRule is the variable name rule Flux enforces.
var nameRule = regexp.MustCompile(`^[_[:alpha:]][_[:alpha:][:digit:]]*$`)

// Substitute replaces ${var} expressions in every object with the values
// of vars, in place.
//
// As in Flux, nothing happens when vars is empty (so a Kustomization
// without variables can ship ${...} untouched), and objects labelled or
// annotated kustomize.toolkit.fluxcd.io/substitute: disabled are skipped.
// A variable without a value expands to "" unless strict is set, in which
// case it is an error naming the variable and the object.
func Substitute(objs []*unstructured.Unstructured, vars map[string]string, strict bool) error {
	if len(vars) == 0 {
		return nil
	}
	if err := ValidateNames(vars); err != nil {
		return err
	}
	lookup := func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
	for _, obj := range objs {
		if Disabled(obj) {
			continue
		}
		if err := substituteObject(obj, lookup, strict); err != nil {
			return fmt.Errorf("variable substitution in %s failed: %w", describe(obj), err)
		}
	}
	return nil
}

// Disabled reports whether obj opts out of substitution.
func Disabled(obj *unstructured.Unstructured) bool {
	return obj.GetLabels()[DisabledKey] == DisabledValue || obj.GetAnnotations()[DisabledKey] == DisabledValue
}

// ValidateNames checks every variable name against Flux's rule, so that a
// typo in a ConfigMap key is reported instead of silently never matching.
func ValidateNames(vars map[string]string) error {
	var bad []string
	for name := range vars {
		if !nameRule.MatchString(name) {
			bad = append(bad, fmt.Sprintf("%q", name))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("invalid variable name %s: names must match %s", strings.Join(bad, ", "), nameRule)
}

// errSecretExpression is a Secret's malformed expression, said without its
// text.
var errSecretExpression = errors.New("a ${...} expression is malformed (its text is not shown, the values may be decrypted ones): " +
	"write a literal '${' as '$${', or annotate the Secret kustomize.toolkit.fluxcd.io/substitute: disabled")

func substituteObject(obj *unstructured.Unstructured, lookup lookupFunc, strict bool) error {
	data, err := yaml.Marshal(obj.Object)
	if err != nil {
		return err
	}
	if !bytes.Contains(data, []byte("${")) {
		return nil
	}
	// Errors never carry the underlying text for Secrets: it holds values
	// decrypted just before, which would go to the Ready condition, the
	// events, the logs and every notification. A missing variable's error
	// names the variable alone and stays.
	secret := obj.GetKind() == "Secret"
	out, err := expand(string(data), lookup, strict)
	if err != nil {
		if secret && !errors.Is(err, ErrVarNotSet) {
			return errSecretExpression
		}
		return err
	}
	js, err := yaml.YAMLToJSON([]byte(out))
	if err != nil {
		if secret {
			return fmt.Errorf("the result is not valid YAML (check values that hold YAML syntax)")
		}
		return fmt.Errorf("the result is not valid YAML (check values that hold YAML syntax): %w", err)
	}
	res := &unstructured.Unstructured{}
	if err := res.UnmarshalJSON(js); err != nil {
		return fmt.Errorf("the result is not a Kubernetes object: apiVersion or kind is missing or malformed")
	}
	obj.Object = res.Object
	return nil
}

// describe names an object as Kind/namespace/name for messages.
func describe(obj *unstructured.Unstructured) string {
	if ns := obj.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s/%s/%s", obj.GetKind(), ns, obj.GetName())
	}
	return fmt.Sprintf("%s/%s", obj.GetKind(), obj.GetName())
}
