package action

import (
	"bytes"
	"fmt"

	helmaction "helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/cli-runtime/pkg/resource"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
)

// applyCRDs creates the chart's crds/ files and, with CreateReplace,
// replaces those that exist; Helm itself never updates them. CRDs are never
// deleted.
func applyCRDs(cfg *helmaction.Configuration, chrt *chart.Chart, policy helmv2.CRDsPolicy) error {
	var buf bytes.Buffer
	for _, crd := range chrt.CRDObjects() {
		buf.WriteString("\n---\n")
		buf.Write(crd.File.Data)
	}
	if buf.Len() == 0 {
		return nil
	}
	resources, err := cfg.KubeClient.Build(&buf, false)
	if err != nil {
		return fmt.Errorf("failed to parse the chart's CRDs: %w", err)
	}
	// Helm's install does the same after creating CRDs: the cached
	// discovery must learn the new kinds before the chart's objects are
	// built.
	defer func() {
		if k, ok := cfg.KubeClient.(*countingKubeClient); ok {
			k.changes.bump()
		}
		if dc, err := cfg.RESTClientGetter.ToDiscoveryClient(); err == nil {
			dc.Invalidate()
		}
	}()
	for _, info := range resources {
		helper := resource.NewHelper(info.Client, info.Mapping)
		obj, err := helper.Create(info.Namespace, true, info.Object)
		if err == nil {
			_ = info.Refresh(obj, true)
			continue
		}
		if !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("failed to create CRD '%s': %w", info.Name, err)
		}
		if policy != helmv2.CRDsPolicyCreateReplace {
			continue
		}
		// With overwrite, the helper takes the live resourceVersion.
		if _, err := helper.Replace(info.Namespace, info.Name, true, info.Object); err != nil {
			return fmt.Errorf("failed to replace CRD '%s': %w", info.Name, err)
		}
	}
	return nil
}
