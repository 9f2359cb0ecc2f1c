package substitute

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
)

func TestVars(t *testing.T) {
	objects := []client.Object{
		&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "cluster", Namespace: "apps"},
			Data:       map[string]string{"region": "eu-west-1", "env": "staging", "banner": "line1\nline2\n"},
		},
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: "apps"},
			Data:       map[string][]byte{"env": []byte("prod"), "token": []byte("t0k3n")},
		},
		&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "elsewhere", Namespace: "other"},
			Data:       map[string]string{"region": "us-east-1"},
		},
		&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "bad-keys", Namespace: "apps"},
			Data:       map[string]string{"app.properties": "x=1"},
		},
	}
	tests := []struct {
		name    string
		pb      *kustomizev1.PostBuild
		want    map[string]string
		wantErr string
	}{
		{
			name: "no postBuild, no variables",
			pb:   nil,
			want: map[string]string{},
		},
		{
			name: "later substituteFrom entries override earlier ones; substitute wins over all",
			pb: &kustomizev1.PostBuild{
				SubstituteFrom: []kustomizev1.SubstituteReference{
					{Kind: "ConfigMap", Name: "cluster"},
					{Kind: "Secret", Name: "creds"},
				},
				Substitute: map[string]string{"region": "inline"},
			},
			want: map[string]string{"region": "inline", "env": "prod", "token": "t0k3n", "banner": "line1line2"},
		},
		{
			name: "newlines are removed from inline values too",
			pb:   &kustomizev1.PostBuild{Substitute: map[string]string{"a": "x\ny\n"}},
			want: map[string]string{"a": "xy"},
		},
		{
			name: "objects are read from the Kustomization's namespace only",
			pb: &kustomizev1.PostBuild{SubstituteFrom: []kustomizev1.SubstituteReference{
				{Kind: "ConfigMap", Name: "elsewhere", Optional: true},
			}},
			want: map[string]string{},
		},
		{
			name: "a missing optional object defines no variables",
			pb: &kustomizev1.PostBuild{
				SubstituteFrom: []kustomizev1.SubstituteReference{{Kind: "Secret", Name: "absent", Optional: true}},
				Substitute:     map[string]string{"a": "1"},
			},
			want: map[string]string{"a": "1"},
		},
		{
			name: "a missing required object is an error naming it",
			pb: &kustomizev1.PostBuild{SubstituteFrom: []kustomizev1.SubstituteReference{
				{Kind: "ConfigMap", Name: "cluster"},
				{Kind: "Secret", Name: "absent"},
			}},
			wantErr: "spec.postBuild.substituteFrom: Secret 'apps/absent' not found; create it or mark the reference optional",
		},
		{
			name: "keys that are not valid variable names are refused",
			pb: &kustomizev1.PostBuild{SubstituteFrom: []kustomizev1.SubstituteReference{
				{Kind: "ConfigMap", Name: "bad-keys"},
			}},
			wantErr: `spec.postBuild: invalid variable name "app.properties"`,
		},
		{
			name: "unsupported kinds are refused",
			pb: &kustomizev1.PostBuild{SubstituteFrom: []kustomizev1.SubstituteReference{
				{Kind: "Pod", Name: "x"},
			}},
			wantErr: `kind "Pod" of 'x' is not supported`,
		},
	}
	c := fake.NewClientBuilder().WithObjects(objects...).Build()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			vars, err := Vars(context.Background(), c, "apps", tt.pb)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				g.Expect(err.Error()).NotTo(ContainSubstring("t0k3n"))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(vars).To(Equal(tt.want))
		})
	}
}
