package helmrelease

import (
	"context"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
)

// gatedChart renders a Widget of group only when the cluster serves the
// kind, as charts do for optional integrations (ServiceMonitors and the
// like).
func gatedChart(group string) map[string]string {
	return withTemplate(goodChart, "widget.yaml", fmt.Sprintf(`{{- if .Capabilities.APIVersions.Has "%[1]s/v1/Widget" }}
apiVersion: %[1]s/v1
kind: Widget
metadata:
  name: gated
spec:
  size: 1
{{- end }}
`, group))
}

// TestCapabilitiesSeeLaterCRDs installs a chart gated on a CRD that does
// not exist yet, installs the CRD outside the release, and upgrades: the
// upgrade must render the Widget. Helm caches Capabilities on its
// configuration, so a configuration kept from the install never saw the
// new kind.
func TestCapabilitiesSeeLaterCRDs(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	group := ns + ".gated.example.com"
	publishHelmChart(t, ns, "chart", "1.0.0", gatedChart(group))
	hr := newRelease(t, ns, "app")
	waitReady(t, hr, "1.0.0", 1)
	g.Expect(helmList(t, hr)[0].Manifest).NotTo(ContainSubstring("kind: Widget"))

	crd := &unstructured.Unstructured{}
	g.Expect(yaml.Unmarshal([]byte(widgetCRD(group, "")), &crd.Object)).To(Succeed())
	g.Expect(env.Client.Create(ctx, crd)).To(Succeed())
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), crd) })
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(crd), crd)).To(Succeed())
		conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		established := false
		for _, c := range conds {
			m := c.(map[string]any)
			established = established || m["type"] == "Established" && m["status"] == "True"
		}
		g.Expect(established).To(BeTrue())
	}, timeout).Should(Succeed())

	publishHelmChart(t, ns, "chart", "1.0.1", gatedChart(group))
	waitReady(t, hr, "1.0.1", 2)
	w := &unstructured.Unstructured{}
	w.SetGroupVersionKind(schema.GroupVersionKind{Group: group, Version: "v1", Kind: "Widget"})
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "gated"}, w)).To(Succeed())
}

// TestConcurrentReleasesOneTarget reconciles several releases of one
// namespace (one client target, one release namespace) at the same time,
// through install and upgrade. Run with -race: every release shares the
// target's discovery client, clientset and kubectl factory, and Helm writes
// to its configuration while it runs, so a shared configuration is a data
// race the detector reports.
func TestConcurrentReleasesOneTarget(t *testing.T) {
	ns := newNamespace(t)
	publishHelmChart(t, ns, "chart", "1.0.0", goodChart)
	var hrs []*helmv2.HelmRelease
	for i := range 6 {
		hrs = append(hrs, newRelease(t, ns, fmt.Sprintf("app-%d", i), func(hr *helmv2.HelmRelease) {
			hr.Spec.MaxHistory = new(i%2 + 2)
		}))
	}
	for _, hr := range hrs {
		waitReady(t, hr, "1.0.0", 1)
	}
	publishHelmChart(t, ns, "chart", "1.1.0", goodChart)
	for _, hr := range hrs {
		waitReady(t, hr, "1.1.0", 2)
	}
}
