package provider

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
)

func newProvider(mutate ...func(*notificationv1.Provider)) *notificationv1.Provider {
	p := &notificationv1.Provider{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "0c9c2e41-1111"},
		Spec: notificationv1.ProviderSpec{
			Type: "slack", Address: "https://spec.example/hook", Channel: "general", Username: "spec-user",
			Proxy: "http://spec-proxy.example:3128",
		},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

// TestConfigSecretOverridesSpec checks Flux's precedence: the Secret's keys
// win over the spec's fields.
func TestConfigSecretOverridesSpec(t *testing.T) {
	g := NewWithT(t)
	p := newProvider(func(p *notificationv1.Provider) {
		p.Spec.Timeout = &metav1.Duration{Duration: 3 * time.Second}
	})
	cfg, err := ConfigFor(p, Secrets{Auth: &corev1.Secret{Data: map[string][]byte{
		"address":  []byte("https://secret.example/hook"),
		"username": []byte("secret-user"),
		"password": []byte("pw"),
		"token":    []byte("tok"),
		"proxy":    []byte("http://user:pw@secret-proxy.example:3128"),
		"headers":  []byte("X-One: '1'\nAuthorization: Bearer abc\n"),
	}}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cfg.Address).To(Equal("https://secret.example/hook"))
	g.Expect(cfg.Username).To(Equal("secret-user"))
	g.Expect(cfg.Password).To(Equal("pw"))
	g.Expect(cfg.Token).To(Equal("tok"))
	g.Expect(cfg.Channel).To(Equal("general"))
	g.Expect(cfg.Proxy.Host).To(Equal("secret-proxy.example:3128"))
	g.Expect(cfg.Headers).To(Equal(map[string]string{"X-One": "1", "Authorization": "Bearer abc"}))
	g.Expect(cfg.Timeout).To(Equal(3 * time.Second))
	g.Expect(cfg.ProviderUID).To(Equal("0c9c2e41-1111"))
}

func TestConfigSpecOnly(t *testing.T) {
	g := NewWithT(t)
	cfg, err := ConfigFor(newProvider(), Secrets{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cfg.Address).To(Equal("https://spec.example/hook"))
	g.Expect(cfg.Username).To(Equal("spec-user"))
	g.Expect(cfg.Proxy.Host).To(Equal("spec-proxy.example:3128"))
	g.Expect(cfg.Timeout).To(Equal(notificationv1.DefaultProviderTimeout))
}

func TestConfigProxySecretRef(t *testing.T) {
	g := NewWithT(t)
	p := newProvider(func(p *notificationv1.Provider) {
		p.Spec.ProxySecretRef = &fluxmeta.LocalObjectReference{Name: "proxy"}
	})
	cfg, err := ConfigFor(p, Secrets{Proxy: &corev1.Secret{Data: map[string][]byte{
		"address": []byte("http://proxy.internal:8080"), "username": []byte("u"), "password": []byte("p"),
	}}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cfg.Proxy.String()).To(Equal("http://u:p@proxy.internal:8080"))
}

// TestConfigErrorsHideValues checks that a bad Secret is reported by key,
// never by value.
func TestConfigErrorsHideValues(t *testing.T) {
	for name, s := range map[string]Secrets{
		"headers": {Auth: &corev1.Secret{Data: map[string][]byte{"headers": []byte("- not-a-map-hunter2")}}},
		"proxy":   {Auth: &corev1.Secret{Data: map[string][]byte{"proxy": []byte("gopher://hunter2")}}},
		"ca":      {Cert: &corev1.Secret{Data: map[string][]byte{"ca.crt": []byte("hunter2")}}},
		"keypair": {Cert: &corev1.Secret{Data: map[string][]byte{"tls.crt": []byte("hunter2")}}},
		"empty":   {Cert: &corev1.Secret{Data: map[string][]byte{}}},
		"noaddr":  {Proxy: &corev1.Secret{Data: map[string][]byte{"username": []byte("hunter2")}}},
	} {
		_, err := ConfigFor(newProvider(), s)
		if err == nil {
			t.Errorf("%s: want an error", name)
			continue
		}
		NewWithT(t).Expect(err.Error()).NotTo(ContainSubstring("hunter2"), name)
	}
}
