package scan

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

const planted = "pl4nted-s3cret/value+x"

func scanner(t *testing.T) *Scanner {
	t.Helper()
	s, err := New(Secret{Name: "planted", Value: planted}, Secret{Name: "other", Value: "another-secret-value"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestScanFindsPlantedSecret plants the secret in each shape a controller
// could leak it in and expects the scanner to name it each time.
func TestScanFindsPlantedSecret(t *testing.T) {
	s := scanner(t)
	manifest := func(prefix string) string {
		return prefix + "apiVersion: v1\nkind: Secret\nstringData:\n  password: " + planted + "\n"
	}
	cases := map[string]string{
		"log line":     `2026-12-01T10:00:00Z ERROR failed to clone: authentication failed for user git with password "` + planted + `"`,
		"event JSON":   `{"message":"decrypted ` + planted + `"}`,
		"base64 alone": "data:\n  password: " + base64.StdEncoding.EncodeToString([]byte(planted)) + "\n",
		"url escaped":  "POST https://hooks.local/" + url.PathEscape(planted) + ": 404",
		"query":        "GET /?token=" + url.QueryEscape(planted),
		"metric label": `ferry_errors_total{reason="` + planted + `"} 1`,
	}
	// A whole manifest base64-encoded, with the secret at every alignment.
	for i := 0; i < 6; i++ {
		cases[fmt.Sprintf("base64 manifest, shift %d", i)] = base64.StdEncoding.EncodeToString([]byte(manifest(strings.Repeat("#", i))))
		cases[fmt.Sprintf("base64url manifest, shift %d", i)] = base64.URLEncoding.EncodeToString([]byte(manifest(strings.Repeat("#", i))))
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			found := s.Scan(name, []byte(text))
			NewWithT(t).Expect(found).NotTo(BeEmpty(), "the planted secret in %q was not found", text)
			for _, f := range found {
				NewWithT(t).Expect(f.Secret).To(Equal("planted"))
				NewWithT(t).Expect(f.String()).NotTo(ContainSubstring(planted), "a finding must not repeat the value")
			}
		})
	}
}

// TestScanCleanText finds nothing in text that only names the secrets or
// holds a near miss.
func TestScanCleanText(t *testing.T) {
	s := scanner(t)
	for _, text := range []string{
		"failed to get the decryption Secret 'ns/sops-keys': not found",
		"pl4nted-s3cre",
		base64.StdEncoding.EncodeToString([]byte("pl4nted-s3cr3t/value+x")),
		`ferry_reconcile_total{kind="GitRepository",result="failure"} 3`,
	} {
		NewWithT(t).Expect(s.Scan("clean", []byte(text))).To(BeEmpty(), text)
	}
}

// TestNewRefusesShortSecrets: a short value would match by chance and make
// a clean scan mean nothing.
func TestNewRefusesShortSecrets(t *testing.T) {
	_, err := New(Secret{Name: "pin", Value: "1234"})
	NewWithT(t).Expect(err).To(MatchError(ContainSubstring(`"pin" is shorter`)))
}
