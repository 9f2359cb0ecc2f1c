package helmrelease

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
)

// kindsChart renders the Go kind of the values a targetPath sets, so the
// test reads what the templates saw: Helm's --set typing, not strings.
var kindsChart = withTemplate(goodChart, "kinds.yaml", `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-kinds
data:
  enabled: {{ kindOf .Values.feature.enabled | quote }}
  replicas: {{ kindOf .Values.replicas | quote }}
  quoted: {{ kindOf .Values.label | quote }}
  password: {{ .Values.auth.password | quote }}
`)

// TestValuesFromTargetPath releases values set through valuesFrom
// targetPath: "false" and "3" reach the templates as a boolean and a
// number, a quoted value as a string, and a targetPath value overwrites
// spec.values, as Flux documents.
func TestValuesFromTargetPath(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	publishHelmChart(t, ns, "chart", "1.0.0", kindsChart)
	g.Expect(env.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vals"},
		Data: map[string][]byte{"enabled": []byte("false"), "replicas": []byte("3"), "label": []byte(`"true"`),
			"password": []byte("s3cr3t")},
	})).To(Succeed())
	hr := newRelease(t, ns, "app", inlineValues(`{"auth":{"password":"inline"},"label":5}`), func(hr *helmv2.HelmRelease) {
		for key, path := range map[string]string{"enabled": "feature.enabled", "replicas": "replicas", "label": "label", "password": "auth.password"} {
			hr.Spec.ValuesFrom = append(hr.Spec.ValuesFrom, helmv2.ValuesReference{Kind: "Secret", Name: "vals", ValuesKey: key, TargetPath: path})
		}
	})
	waitReady(t, hr, "1.0.0", 1)
	cm, err := configMap(t, ns, "app-kinds")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cm.Data).To(HaveKeyWithValue("enabled", "bool"))
	g.Expect(cm.Data).To(HaveKeyWithValue("replicas", "int64"))
	g.Expect(cm.Data).To(HaveKeyWithValue("quoted", "string"))
	g.Expect(cm.Data).To(HaveKeyWithValue("password", "s3cr3t"))
}
