package helmvalues

import (
	"context"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
)

func TestCompose(t *testing.T) {
	objs := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "base"},
			Data: map[string]string{"values.yaml": "a: base\nb: base\nnested: {p: 1, q: 1}\n", "custom": "c: custom\n"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "secret"},
			Data: map[string][]byte{"values.yaml": []byte("b: secret\nnested: {q: 2}\n"), "pw": []byte("s3cr3t"),
				"off": []byte("false"), "three": []byte("3"), "quoted": []byte(`"false"`), "squoted": []byte("'3'"), "zero": []byte("007")}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "list"},
			Data: map[string]string{"values.yaml": "flat: value\nnested: {configuration: [one, two, three]}\n", "key": "value"}},
	).Build()
	for _, tt := range []struct {
		name    string
		from    []helmv2.ValuesReference
		inline  string
		want    map[string]any
		wantErr string
	}{
		{
			name:   "list order, then inline",
			from:   []helmv2.ValuesReference{{Kind: "ConfigMap", Name: "base"}, {Kind: "Secret", Name: "secret"}},
			inline: `{"a":"inline"}`,
			want:   map[string]any{"a": "inline", "b": "secret", "nested": map[string]any{"p": float64(1), "q": float64(2)}},
		},
		{
			name: "valuesKey",
			from: []helmv2.ValuesReference{{Kind: "ConfigMap", Name: "base", ValuesKey: "custom"}},
			want: map[string]any{"c": "custom"},
		},
		{
			name:   "targetPath wins over inline values",
			from:   []helmv2.ValuesReference{{Kind: "Secret", Name: "secret", ValuesKey: "pw", TargetPath: "auth.password"}},
			inline: `{"auth":{"password":"inline","user":"u"}}`,
			want:   map[string]any{"auth": map[string]any{"password": "s3cr3t", "user": "u"}},
		},
		{
			name:   "targetPath wins over inline values and valuesFrom listed after it",
			from:   []helmv2.ValuesReference{{Kind: "ConfigMap", Name: "list", ValuesKey: "key", TargetPath: "nested.configuration[0]"}, {Kind: "ConfigMap", Name: "list"}},
			inline: `{"nested":{"configuration":["list","item","option"]}}`,
			want:   map[string]any{"flat": "value", "nested": map[string]any{"configuration": []any{"value", "item", "option"}}},
		},
		{
			name: "targetPath values are typed like helm --set",
			from: []helmv2.ValuesReference{
				{Kind: "Secret", Name: "secret", ValuesKey: "off", TargetPath: "feature.enabled"},
				{Kind: "Secret", Name: "secret", ValuesKey: "three", TargetPath: "replicas"},
				{Kind: "Secret", Name: "secret", ValuesKey: "zero", TargetPath: "code"},
			},
			want: map[string]any{"feature": map[string]any{"enabled": false}, "replicas": int64(3), "code": "007"},
		},
		{
			name: "quoted targetPath values stay strings",
			from: []helmv2.ValuesReference{
				{Kind: "Secret", Name: "secret", ValuesKey: "quoted", TargetPath: "feature.enabled"},
				{Kind: "Secret", Name: "secret", ValuesKey: "squoted", TargetPath: "replicas"},
			},
			want: map[string]any{"feature": map[string]any{"enabled": "false"}, "replicas": "3"},
		},
		{
			name: "optional missing object and key are skipped",
			from: []helmv2.ValuesReference{{Kind: "ConfigMap", Name: "absent", Optional: true},
				{Kind: "ConfigMap", Name: "base", ValuesKey: "absent", Optional: true}},
			want: map[string]any{},
		},
		{
			name:    "missing object fails",
			from:    []helmv2.ValuesReference{{Kind: "Secret", Name: "absent"}},
			wantErr: "could not get Secret 'ns/absent'",
		},
		{
			name:    "missing key fails",
			from:    []helmv2.ValuesReference{{Kind: "ConfigMap", Name: "base", ValuesKey: "nope"}},
			wantErr: "missing key 'nope'",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			hr := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "app"}}
			hr.Spec.ValuesFrom = tt.from
			if tt.inline != "" {
				hr.Spec.Values = &apiextensionsv1.JSON{Raw: []byte(tt.inline)}
			}
			got, err := Compose(context.Background(), objs, hr)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tt.want))
		})
	}
}

func TestDigest(t *testing.T) {
	g := NewWithT(t)
	a := Digest(map[string]any{"a": 1, "b": map[string]any{"c": "d", "e": "f"}})
	b := Digest(map[string]any{"b": map[string]any{"e": "f", "c": "d"}, "a": 1})
	g.Expect(a).To(Equal(b))
	g.Expect(strings.HasPrefix(a, "sha256:")).To(BeTrue())
	g.Expect(Digest(nil)).To(Equal(Digest(map[string]any{})))
	g.Expect(Digest(map[string]any{"a": 2})).NotTo(Equal(a))
}
