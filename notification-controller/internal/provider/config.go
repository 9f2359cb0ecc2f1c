package provider

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
)

// Secrets are the Secrets a Provider names; a field is nil when the Provider
// does not name that Secret.
type Secrets struct {
	// Auth is spec.secretRef: address, token, username, password, headers,
	// proxy.
	Auth *corev1.Secret
	// Cert is spec.certSecretRef: ca.crt, tls.crt and tls.key.
	Cert *corev1.Secret
	// Proxy is spec.proxySecretRef: address, username, password.
	Proxy *corev1.Secret
}

// ConfigFor resolves a Provider and its Secrets into a notifier Config.
// Secret keys override the spec's fields, as in Flux, so credentials can be
// kept out of the spec. Errors name keys and fields, never their values.
func ConfigFor(p *notificationv1.Provider, s Secrets) (Config, error) {
	cfg := Config{
		Type:        p.Spec.Type,
		Address:     p.Spec.Address,
		Channel:     p.Spec.Channel,
		Username:    p.Spec.Username,
		Timeout:     p.GetTimeout(),
		ProviderUID: string(p.UID),
	}
	proxy := p.Spec.Proxy
	if sec := s.Auth; sec != nil {
		if v, ok := sec.Data["address"]; ok {
			cfg.Address = string(v)
		}
		if v, ok := sec.Data["username"]; ok {
			cfg.Username = string(v)
		}
		cfg.Token = string(sec.Data["token"])
		cfg.Password = string(sec.Data["password"])
		if v, ok := sec.Data["proxy"]; ok {
			proxy = string(v)
		}
		if v, ok := sec.Data["headers"]; ok {
			if err := yaml.Unmarshal(v, &cfg.Headers); err != nil {
				return cfg, errors.New("the 'headers' key of spec.secretRef is not a YAML map of strings")
			}
		}
	}
	if sec := s.Proxy; sec != nil {
		addr, ok := sec.Data["address"]
		if !ok {
			return cfg, errors.New("spec.proxySecretRef has no 'address' key")
		}
		u, err := parseProxy(string(addr))
		if err != nil {
			return cfg, err
		}
		if user, ok := sec.Data["username"]; ok {
			u.User = url.UserPassword(string(user), string(sec.Data["password"]))
		}
		cfg.Proxy = u
	} else if proxy != "" {
		u, err := parseProxy(proxy)
		if err != nil {
			return cfg, err
		}
		cfg.Proxy = u
	}
	if sec := s.Cert; sec != nil {
		tlsConfig, err := tlsConfigFrom(sec)
		if err != nil {
			return cfg, err
		}
		cfg.TLS = tlsConfig
	}
	return cfg, nil
}

// parseProxy accepts http, https and socks5 proxy URLs.
func parseProxy(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5") {
		return nil, errors.New("the proxy address is not an http, https or socks5 URL")
	}
	return u, nil
}

// tlsConfigFrom trusts only the CA in ca.crt (or the older caFile key) and
// presents tls.crt/tls.key as a client certificate when both are set.
func tlsConfigFrom(sec *corev1.Secret) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	ca, ok := sec.Data["ca.crt"]
	if !ok {
		ca, ok = sec.Data["caFile"]
	}
	if ok {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("the 'ca.crt' key of spec.certSecretRef holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	crt, hasCrt := sec.Data[corev1.TLSCertKey]
	key, hasKey := sec.Data[corev1.TLSPrivateKeyKey]
	switch {
	case hasCrt && hasKey:
		pair, err := tls.X509KeyPair(crt, key)
		if err != nil {
			return nil, errors.New("the 'tls.crt' and 'tls.key' keys of spec.certSecretRef are not a valid key pair")
		}
		cfg.Certificates = []tls.Certificate{pair}
	case hasCrt || hasKey:
		return nil, errors.New("spec.certSecretRef needs both 'tls.crt' and 'tls.key' for a client certificate")
	}
	if cfg.RootCAs == nil && len(cfg.Certificates) == 0 {
		return nil, errors.New("spec.certSecretRef has neither 'ca.crt' nor 'tls.crt' and 'tls.key'")
	}
	return cfg, nil
}
