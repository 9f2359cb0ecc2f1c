package decrypt

import (
	"testing"

	. "github.com/onsi/gomega"

	"github.com/ferrycd/ferry/kustomize-controller/internal/decrypt/sopstest"
)

func TestNewDecryptor(t *testing.T) {
	ageK := sopstest.NewAgeKey(t)
	pgpK := sopstest.NewPGPKey(t, "")
	locked := sopstest.NewPGPKey(t, "passphrase")
	tests := []struct {
		name    string
		keys    map[string][]byte
		want    []string
		wantErr string
	}{
		{
			name: "age and OpenPGP entries are recognised by suffix",
			keys: map[string][]byte{"identity.agekey": ageK.File, "team.asc": pgpK.Armored},
			want: []string{"age recipient " + ageK.Recipient(), "OpenPGP key " + pgpK.Fingerprint()},
		},
		{
			name: "other entries, such as KMS credentials, are ignored",
			keys: map[string][]byte{"sops.aws-kms": []byte("aws_access_key_id: x"), "README": []byte("hi")},
			want: nil,
		},
		{
			name: "no keys at all is allowed; decryption then says so",
			keys: nil,
			want: nil,
		},
		{
			name:    "a malformed age identity names the entry, not the content",
			keys:    map[string][]byte{"broken.agekey": []byte("AGE-SECRET-KEY-1NOTAKEY")},
			wantErr: `decryption Secret entry "broken.agekey" does not hold valid age identities`,
		},
		{
			name:    "a malformed OpenPGP key ring names the entry",
			keys:    map[string][]byte{"broken.asc": []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----\nnope\n")},
			wantErr: `decryption Secret entry "broken.asc" does not hold an armored OpenPGP key ring`,
		},
		{
			name:    "a public OpenPGP key cannot decrypt",
			keys:    map[string][]byte{"public.asc": pgpK.PublicOnly(t)},
			wantErr: "without its private key",
		},
		{
			name:    "a passphrase-protected OpenPGP key is refused",
			keys:    map[string][]byte{"locked.asc": locked.Armored},
			wantErr: "protected by a passphrase; export it without one",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			d, err := NewDecryptor(tt.keys)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				g.Expect(err.Error()).NotTo(ContainSubstring("AGE-SECRET-KEY"))
				g.Expect(err.Error()).NotTo(ContainSubstring("PRIVATE KEY BLOCK"))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(d.keys.describe()).To(Equal(tt.want))
		})
	}
}
