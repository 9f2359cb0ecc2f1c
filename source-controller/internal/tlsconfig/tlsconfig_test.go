package tlsconfig

import (
	"encoding/pem"
	"net/http/httptest"
	"testing"

	. "github.com/onsi/gomega"
)

func TestFromSecret(t *testing.T) {
	g := NewWithT(t)
	srv := httptest.NewTLSServer(nil)
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})

	cfg, err := FromSecret(map[string][]byte{"username": []byte("u")})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cfg).To(BeNil(), "no TLS keys, no TLS config")

	cfg, err = FromSecret(map[string][]byte{KeyCA: ca})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cfg.RootCAs).NotTo(BeNil())
	cfg, err = FromSecret(map[string][]byte{"caFile": ca})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cfg.RootCAs).NotTo(BeNil(), "the older key name is still read")

	_, err = FromSecret(map[string][]byte{KeyCA: []byte("not pem")})
	g.Expect(err).To(MatchError(ContainSubstring("holds no PEM-encoded certificate")))
	_, err = FromSecret(map[string][]byte{KeyCert: ca})
	g.Expect(err).To(MatchError(ContainSubstring("needs both 'tls.crt' and 'tls.key'")))
	_, err = FromSecret(map[string][]byte{KeyCert: ca, KeyKey: []byte("bad")})
	g.Expect(err).To(MatchError(ContainSubstring("invalid client certificate")))
}
