package helmclient

import (
	"context"
	"testing"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
)

func secret(name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func repo(mutate func(*sourcev1.HelmRepositorySpec)) *sourcev1.HelmRepository {
	obj := &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Name: "repo", Namespace: "ns"},
		Spec: sourcev1.HelmRepositorySpec{URL: "https://charts.example.com"}}
	mutate(&obj.Spec)
	return obj
}

// TestClientsFromSecrets covers what both Helm kinds rely on: the getter and
// the registry client take their credentials from spec.secretRef and name
// the field of a Secret that is missing or incomplete.
func TestClientsFromSecrets(t *testing.T) {
	c := fake.NewClientBuilder().WithObjects(
		secret("basic", map[string]string{"username": "u", "password": "p"}),
		secret("half", map[string]string{"username": "u"}),
		secret("docker", map[string]string{".dockerconfigjson": `{"auths":{"registry.example.com":{"auth":"dTpw"}}}`}),
	).Build()
	ctx := context.Background()

	t.Run("basic auth", func(t *testing.T) {
		g := NewWithT(t)
		getter, err := Getter(ctx, c, repo(func(s *sourcev1.HelmRepositorySpec) {
			s.SecretRef = &fluxmeta.LocalObjectReference{Name: "basic"}
			s.PassCredentials = true
		}))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(getter.Username).To(Equal("u"))
		g.Expect(getter.Password).To(Equal("p"))
		g.Expect(getter.PassCredentials).To(BeTrue())
	})
	t.Run("username without password", func(t *testing.T) {
		_, err := Getter(ctx, c, repo(func(s *sourcev1.HelmRepositorySpec) {
			s.SecretRef = &fluxmeta.LocalObjectReference{Name: "half"}
		}))
		NewWithT(t).Expect(err).To(MatchError(ContainSubstring("both 'username' and 'password'")))
	})
	t.Run("missing cert secret", func(t *testing.T) {
		_, err := Getter(ctx, c, repo(func(s *sourcev1.HelmRepositorySpec) {
			s.CertSecretRef = &fluxmeta.LocalObjectReference{Name: "absent"}
		}))
		NewWithT(t).Expect(err).To(MatchError(ContainSubstring("named in spec.certSecretRef")))
	})
	t.Run("registry client from a docker config", func(t *testing.T) {
		g := NewWithT(t)
		rc, err := RegistryClient(ctx, c, repo(func(s *sourcev1.HelmRepositorySpec) {
			s.Type = sourcev1.HelmRepositoryTypeOCI
			s.URL = "oci://registry.example.com/charts"
			s.SecretRef = &fluxmeta.LocalObjectReference{Name: "docker"}
		}))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(rc).NotTo(BeNil())
	})
	t.Run("registry secret missing", func(t *testing.T) {
		_, err := RegistryClient(ctx, c, repo(func(s *sourcev1.HelmRepositorySpec) {
			s.SecretRef = &fluxmeta.LocalObjectReference{Name: "absent"}
		}))
		NewWithT(t).Expect(err).To(MatchError(ContainSubstring("named in spec.secretRef")))
	})
}
