package substitute

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestSubstituteErrorsHideSecretText: substitution runs after SOPS
// decryption, so a Secret's text holds plain values; a malformed
// expression in it must be reported without them, while the same mistake
// in a ConfigMap still shows the text that helps find it.
func TestSubstituteErrorsHideSecretText(t *testing.T) {
	const value = "decrypted-pa55word"
	for _, bad := range []string{"${" + value, "${ " + value + " }", "${X:" + value + "}"} {
		t.Run(bad, func(t *testing.T) {
			g := NewWithT(t)
			secret := object(t, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: '"+bad+"'\n")
			err := Substitute([]*unstructured.Unstructured{secret}, map[string]string{"X": "x"}, false)
			g.Expect(err).To(MatchError(ContainSubstring("variable substitution in Secret/db failed: a ${...} expression is malformed")))
			g.Expect(err.Error()).NotTo(ContainSubstring(value))

			cm := object(t, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  key: '"+bad+"'\n")
			err = Substitute([]*unstructured.Unstructured{cm}, map[string]string{"X": "x"}, false)
			g.Expect(err).To(MatchError(ContainSubstring(value)))
		})
	}
	// A variable left unset in strict mode is named: names are not values.
	secret := object(t, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: ${PASSWORD}\n")
	err := Substitute([]*unstructured.Unstructured{secret}, map[string]string{"X": "x"}, true)
	NewWithT(t).Expect(err).To(MatchError(ContainSubstring(`"PASSWORD" has no value`)))
}
