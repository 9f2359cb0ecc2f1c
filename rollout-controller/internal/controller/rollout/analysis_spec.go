package rollout

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// runSpec merges the named templates into one run as Argo Rollouts does:
// their metrics side by side (two of one name are an error), their
// arguments flattened (one name with two different values is an error),
// then the rollout's arguments set the values of the declared ones; an
// argument left without a value is an error.
func (a *Analysis) runSpec(ctx context.Context, ro *v1alpha1.Rollout, ra *v1alpha1.RolloutAnalysis, hash string) (*v1alpha1.AnalysisRunSpec, error) {
	if ra == nil || len(ra.Templates) == 0 {
		return nil, outcome.StallErr(InvalidAnalysisReason, errors.New("the analysis names no templates"))
	}
	var specs []v1alpha1.AnalysisTemplateSpec
	for _, ref := range ra.Templates {
		spec, err := a.template(ctx, ro.Namespace, ref)
		if err != nil {
			return nil, err
		}
		specs = append(specs, spec)
	}
	rolloutArgs, err := resolveArgs(ro, ra.Args, hash)
	if err != nil {
		return nil, outcome.WaitErr(InvalidAnalysisReason, analysisRetry, err)
	}
	spec, err := mergeTemplates(specs, rolloutArgs)
	if err != nil {
		return nil, outcome.WaitErr(InvalidAnalysisReason, analysisRetry, err)
	}
	return spec, nil
}

// template reads the spec of an AnalysisTemplate in namespace or of a
// ClusterAnalysisTemplate.
func (a *Analysis) template(ctx context.Context, namespace string, ref v1alpha1.AnalysisTemplateRef) (v1alpha1.AnalysisTemplateSpec, error) {
	var err error
	var spec v1alpha1.AnalysisTemplateSpec
	kind := v1alpha1.AnalysisTemplateKind
	if ref.ClusterScope {
		kind = v1alpha1.ClusterAnalysisTemplateKind
		t := &v1alpha1.ClusterAnalysisTemplate{}
		err = a.reader().Get(ctx, client.ObjectKey{Name: ref.TemplateName}, t)
		spec = t.Spec
	} else {
		t := &v1alpha1.AnalysisTemplate{}
		err = a.reader().Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.TemplateName}, t)
		spec = t.Spec
	}
	switch {
	case apierrors.IsNotFound(err):
		return spec, outcome.WaitErr(AnalysisTemplateNotFoundReason, analysisRetry,
			fmt.Errorf("%s '%s' not found: create it or fix the rollout's templateName", kind, ref.TemplateName))
	case err != nil:
		return spec, fmt.Errorf("reading %s '%s': %w", kind, ref.TemplateName, err)
	}
	return spec, nil
}

// mergeTemplates is runSpec's pure part.
func mergeTemplates(specs []v1alpha1.AnalysisTemplateSpec, rolloutArgs []v1alpha1.Argument) (*v1alpha1.AnalysisRunSpec, error) {
	out := &v1alpha1.AnalysisRunSpec{}
	metrics := map[string]bool{}
	for _, s := range specs {
		for _, m := range s.Metrics {
			if metrics[m.Name] {
				return nil, fmt.Errorf("two metrics have the same name '%s'", m.Name)
			}
			metrics[m.Name] = true
			out.Metrics = append(out.Metrics, *m.DeepCopy())
		}
	}
	index := map[string]int{}
	for _, s := range specs {
		for _, arg := range s.Args {
			i, seen := index[arg.Name]
			switch {
			case !seen:
				index[arg.Name] = len(out.Args)
				out.Args = append(out.Args, *arg.DeepCopy())
			case out.Args[i].Value != nil && arg.Value != nil && *out.Args[i].Value != *arg.Value:
				return nil, fmt.Errorf("argument '%s' specified multiple times with different values: '%s', '%s'",
					arg.Name, *out.Args[i].Value, *arg.Value)
			case out.Args[i].Value == nil:
				out.Args[i] = *arg.DeepCopy()
			}
		}
	}
	for _, arg := range rolloutArgs {
		if i, ok := index[arg.Name]; ok {
			out.Args[i].Value = arg.Value
		}
	}
	for _, arg := range out.Args {
		if arg.Value == nil {
			return nil, fmt.Errorf("args.%s was not resolved: give it a value in the rollout's analysis args", arg.Name)
		}
	}
	return out, nil
}

// resolveArgs turns the rollout's analysis arguments into values: a
// literal, the Stable or Latest pod-template hash, or a field of the
// rollout.
func resolveArgs(ro *v1alpha1.Rollout, args []v1alpha1.AnalysisRunArgument, hash string) ([]v1alpha1.Argument, error) {
	out := make([]v1alpha1.Argument, 0, len(args))
	for _, arg := range args {
		value := arg.Value
		if from := arg.ValueFrom; from != nil {
			switch {
			case from.PodTemplateHashValue != nil && *from.PodTemplateHashValue == v1alpha1.Latest:
				value = hash
			case from.PodTemplateHashValue != nil:
				value = ro.Status.StableRS
			case from.FieldRef != nil:
				v, err := fieldValue(ro, from.FieldRef.FieldPath)
				if err != nil {
					return nil, fmt.Errorf("args.%s: %w", arg.Name, err)
				}
				value = v
			}
		}
		out = append(out, v1alpha1.Argument{Name: arg.Name, Value: &value})
	}
	return out, nil
}

// fieldValue reads a downward-API style field path of the rollout:
// metadata.name, metadata.namespace, metadata.uid,
// metadata.labels['key'] and metadata.annotations['key'].
func fieldValue(ro *v1alpha1.Rollout, path string) (string, error) {
	switch path {
	case "metadata.name":
		return ro.Name, nil
	case "metadata.namespace":
		return ro.Namespace, nil
	case "metadata.uid":
		return string(ro.UID), nil
	}
	for prefix, m := range map[string]map[string]string{"metadata.labels": ro.Labels, "metadata.annotations": ro.Annotations} {
		rest, ok := strings.CutPrefix(path, prefix)
		if !ok {
			continue
		}
		if len(rest) > 4 && rest[0] == '[' && rest[len(rest)-1] == ']' {
			key := rest[1 : len(rest)-1]
			if q := key[0]; (q == '\'' || q == '"') && key[len(key)-1] == q {
				return m[key[1:len(key)-1]], nil
			}
		}
	}
	return "", fmt.Errorf("fieldPath %q is not supported: use metadata.name, metadata.namespace, metadata.uid, metadata.labels['key'] or metadata.annotations['key']", path)
}
