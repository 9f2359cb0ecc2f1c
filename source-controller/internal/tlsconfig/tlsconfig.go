// Package tlsconfig turns the TLS keys of a Kubernetes Secret (ca.crt,
// tls.crt, tls.key, as Flux names them) into a tls.Config for talking to a
// Helm repository or an OCI registry with a private CA or client
// certificates.
package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// Secret keys read for TLS. The older caFile/certFile/keyFile spellings are
// read when the current ones are absent, as Flux still does.
const (
	KeyCA   = "ca.crt"
	KeyCert = "tls.crt"
	KeyKey  = "tls.key"
)

var legacyKeys = map[string]string{KeyCA: "caFile", KeyCert: "certFile", KeyKey: "keyFile"}

// HasTLS reports whether data holds any TLS key.
func HasTLS(data map[string][]byte) bool {
	for k, old := range legacyKeys {
		if len(data[k]) > 0 || len(data[old]) > 0 {
			return true
		}
	}
	return false
}

// FromSecret builds a client tls.Config from the Secret's data. It returns
// nil, nil when the Secret holds no TLS keys. A CA replaces the system roots;
// a client certificate needs both tls.crt and tls.key.
func FromSecret(data map[string][]byte) (*tls.Config, error) {
	if !HasTLS(data) {
		return nil, nil
	}
	get := func(k string) []byte {
		if v := data[k]; len(v) > 0 {
			return v
		}
		return data[legacyKeys[k]]
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca := get(KeyCA); len(ca) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("secret key '%s' holds no PEM-encoded certificate", KeyCA)
		}
		cfg.RootCAs = pool
	}
	cert, key := get(KeyCert), get(KeyKey)
	switch {
	case len(cert) > 0 && len(key) > 0:
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("invalid client certificate in secret keys '%s' and '%s': %w", KeyCert, KeyKey, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	case len(cert) > 0 || len(key) > 0:
		return nil, errors.New("a client certificate needs both 'tls.crt' and 'tls.key'")
	}
	return cfg, nil
}
