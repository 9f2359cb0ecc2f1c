package decrypt

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/getsops/sops/v3/cmd/sops/formats"
	"github.com/getsops/sops/v3/keys"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ferrycd/ferry/kustomize-controller/internal/decrypt/sopstest"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/kustomize"
)

const dataRegex = sopstest.SecretRegex

func TestDecryptObjects(t *testing.T) {
	ageK, otherAge := sopstest.NewAgeKey(t), sopstest.NewAgeKey(t)
	pgpK := sopstest.NewPGPKey(t, "")
	secretJSON := []byte(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db","namespace":"apps"},` +
		`"data":{"password":"czNjcjN0LXBhc3N3b3Jk"},"stringData":{"username":"admin-user"}}`)

	tests := []struct {
		name    string
		object  func(t *testing.T) *unstructured.Unstructured
		keys    map[string][]byte
		nilDec  bool
		wantErr string
		// plain is true when the object must come out decrypted.
		plain bool
	}{
		{
			name: "YAML Secret encrypted for age",
			object: func(t *testing.T) *unstructured.Unstructured {
				return parse(t, sopstest.Encrypt(t, []byte(secretYAML), sopstest.Options{Format: formats.Yaml, Keys: []keys.MasterKey{ageK.MasterKey(t)}, EncryptedRegex: dataRegex}))
			},
			keys:  map[string][]byte{"age.agekey": ageK.File},
			plain: true,
		},
		{
			name: "YAML Secret encrypted for OpenPGP",
			object: func(t *testing.T) *unstructured.Unstructured {
				return parse(t, sopstest.Encrypt(t, []byte(secretYAML), sopstest.Options{Format: formats.Yaml, Keys: []keys.MasterKey{pgpK.MasterKey()}, PGP: []*openpgp.Entity{pgpK.Entity}, EncryptedRegex: dataRegex}))
			},
			keys:  map[string][]byte{"team.asc": pgpK.Armored},
			plain: true,
		},
		{
			name: "JSON Secret encrypted for age and OpenPGP, decrypted with either",
			object: func(t *testing.T) *unstructured.Unstructured {
				return parse(t, sopstest.Encrypt(t, secretJSON, sopstest.Options{Format: formats.Json, Keys: []keys.MasterKey{otherAge.MasterKey(t), pgpK.MasterKey()}, PGP: []*openpgp.Entity{pgpK.Entity}, EncryptedRegex: dataRegex}))
			},
			keys:  map[string][]byte{"team.asc": pgpK.Armored},
			plain: true,
		},
		{
			name: "a wrong key fails, naming the Secret and the keys, never key material or values",
			object: func(t *testing.T) *unstructured.Unstructured {
				return parse(t, sopstest.Encrypt(t, []byte(secretYAML), sopstest.Options{Format: formats.Yaml, Keys: []keys.MasterKey{ageK.MasterKey(t)}, EncryptedRegex: dataRegex}))
			},
			keys: map[string][]byte{"other.agekey": otherAge.File},
			wantErr: "failed to decrypt Secret apps/db: no key of the decryption Secret can decrypt it: it is encrypted for age recipient " +
				ageK.Recipient() + "; the decryption Secret holds age recipient " + otherAge.Recipient(),
		},
		{
			name: "keys Ferry cannot use are named",
			object: func(t *testing.T) *unstructured.Unstructured {
				return parse(t, sopstest.Encrypt(t, []byte(secretYAML), sopstest.Options{Format: formats.Yaml, Keys: []keys.MasterKey{sopstest.KMSKey()}, EncryptedRegex: dataRegex}))
			},
			keys:    map[string][]byte{"age.agekey": ageK.File},
			wantErr: "it is encrypted for kms key arn:aws:kms:eu-west-1:111122223333:key/test",
		},
		{
			name: "an encrypted Secret without spec.decryption is an error",
			object: func(t *testing.T) *unstructured.Unstructured {
				return parse(t, sopstest.Encrypt(t, []byte(secretYAML), sopstest.Options{Format: formats.Yaml, Keys: []keys.MasterKey{ageK.MasterKey(t)}, EncryptedRegex: dataRegex}))
			},
			nilDec:  true,
			wantErr: "Secret apps/db is encrypted with SOPS but spec.decryption is not set",
		},
		{
			name:   "a plain Secret passes without spec.decryption",
			object: func(t *testing.T) *unstructured.Unstructured { return parse(t, []byte(secretYAML)) },
			nilDec: true,
			plain:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			var d *Decryptor
			if !tt.nilDec {
				var err error
				d, err = NewDecryptor(tt.keys)
				g.Expect(err).NotTo(HaveOccurred())
			}
			obj := tt.object(t)

			err := Objects(d, []*unstructured.Unstructured{obj})

			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				for _, leak := range []string{"admin-user", "czNjcjN0", "AGE-SECRET-KEY", "PRIVATE KEY"} {
					g.Expect(err.Error()).NotTo(ContainSubstring(leak))
				}
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			if tt.plain {
				g.Expect(obj.Object).NotTo(HaveKey("sops"))
				g.Expect(obj.Object["data"]).To(Equal(map[string]any{"password": "czNjcjN0LXBhc3N3b3Jk"}))
				g.Expect(obj.Object["stringData"]).To(Equal(map[string]any{"username": "admin-user"}))
				g.Expect(obj.GetName()).To(Equal("db"))
				g.Expect(obj.GetNamespace()).To(Equal("apps"))
			}
		})
	}
}

func TestDecryptObjectsRefusesValuesWithoutMetadata(t *testing.T) {
	g := NewWithT(t)
	ageK := sopstest.NewAgeKey(t)
	obj := parse(t, sopstest.Encrypt(t, []byte(secretYAML), sopstest.Options{Format: formats.Yaml, Keys: []keys.MasterKey{ageK.MasterKey(t)}, EncryptedRegex: dataRegex}))
	delete(obj.Object, "sops")
	d, err := NewDecryptor(map[string][]byte{"age.agekey": ageK.File})
	g.Expect(err).NotTo(HaveOccurred())

	err = d.DecryptObjects([]*unstructured.Unstructured{obj})

	g.Expect(err).To(MatchError(MatchRegexp(`key "(password|username)" of Secret apps/db holds a SOPS-encrypted value, but the Secret has no sops metadata`)))
}

func TestDecryptObjectsLeavesOtherKindsAlone(t *testing.T) {
	g := NewWithT(t)
	ageK := sopstest.NewAgeKey(t)
	manifest := strings.Replace(secretYAML, "kind: Secret", "kind: SopsSecret", 1)
	manifest = strings.Replace(manifest, "apiVersion: v1", "apiVersion: isindir.github.com/v1alpha3", 1)
	obj := parse(t, sopstest.Encrypt(t, []byte(manifest), sopstest.Options{Format: formats.Yaml, Keys: []keys.MasterKey{ageK.MasterKey(t)}, EncryptedRegex: dataRegex}))
	before := obj.DeepCopy()

	g.Expect(Objects(nil, []*unstructured.Unstructured{obj})).To(Succeed())
	g.Expect(obj).To(Equal(before))
}

// TestDecryptObjectsAfterKustomize builds a directory holding a
// SOPS-encrypted Secret with spec fields that change its plain metadata,
// then decrypts the output, as the reconciler does.
func TestDecryptObjectsAfterKustomize(t *testing.T) {
	g := NewWithT(t)
	ageK := sopstest.NewAgeKey(t)
	root := writeTree(t, map[string][]byte{
		"app/secret.yaml": sopstest.Encrypt(t, []byte(secretYAML), sopstest.Options{Format: formats.Yaml, Keys: []keys.MasterKey{ageK.MasterKey(t)}, EncryptedRegex: dataRegex}),
	})
	objs, err := kustomize.Build(root, "app", kustomize.Options{
		TargetNamespace: "prod",
		NamePrefix:      "team-",
		CommonMetadata:  &kustomizev1.CommonMetadata{Labels: map[string]string{"owner": "team"}},
	})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(objs).To(HaveLen(1))
	d, err := NewDecryptor(map[string][]byte{"age.agekey": ageK.File})
	g.Expect(err).NotTo(HaveOccurred())

	g.Expect(d.DecryptObjects(objs)).To(Succeed())

	s := objs[0]
	g.Expect(s.GetNamespace()).To(Equal("prod"))
	g.Expect(s.GetName()).To(Equal("team-db"))
	g.Expect(s.GetLabels()).To(HaveKeyWithValue("owner", "team"))
	g.Expect(s.Object).NotTo(HaveKey("sops"))
	g.Expect(s.Object["stringData"]).To(Equal(map[string]any{"username": "admin-user"}))
	g.Expect(s.Object["data"]).To(Equal(map[string]any{"password": "czNjcjN0LXBhc3N3b3Jk"}))
}

// TestDecryptObjectsDecryptsGeneratedValues covers a secretGenerator input
// that reached the build output still encrypted (built without a
// Decryptor): its value is a whole SOPS document, decrypted in place.
func TestDecryptObjectsDecryptsGeneratedValues(t *testing.T) {
	ageK := sopstest.NewAgeKey(t)
	root := writeTree(t, map[string][]byte{
		"app/kustomization.yaml": []byte("secretGenerator:\n- name: token\n  files: [token=token.enc, config.json=config.enc]\n"),
		"app/token.enc":          sopstest.Encrypt(t, []byte("my-secret-token\n"), sopstest.Options{Format: formats.Binary, Keys: []keys.MasterKey{ageK.MasterKey(t)}}),
		"app/config.enc":         sopstest.Encrypt(t, []byte(`{"user":"admin"}`), sopstest.Options{Format: formats.Json, Keys: []keys.MasterKey{ageK.MasterKey(t)}}),
	})
	build := func(g Gomega) *unstructured.Unstructured {
		objs, err := kustomize.Build(root, "app", kustomize.Options{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(objs).To(HaveLen(1))
		return objs[0]
	}

	t.Run("decrypted with a key", func(t *testing.T) {
		g := NewWithT(t)
		obj := build(g)
		d, err := NewDecryptor(map[string][]byte{"age.agekey": ageK.File})
		g.Expect(err).NotTo(HaveOccurred())

		g.Expect(d.DecryptObjects([]*unstructured.Unstructured{obj})).To(Succeed())

		data := obj.Object["data"].(map[string]any)
		g.Expect(decode(g, data["token"])).To(Equal("my-secret-token\n"))
		g.Expect(decode(g, data["config.json"])).To(MatchJSON(`{"user":"admin"}`))
	})
	t.Run("refused without spec.decryption", func(t *testing.T) {
		g := NewWithT(t)
		obj := build(g)

		err := Objects(nil, []*unstructured.Unstructured{obj})

		g.Expect(err).To(MatchError(MatchRegexp(`key "(token|config.json)" of Secret token-\w+ is encrypted with SOPS but spec.decryption is not set`)))
	})
}

func decode(g Gomega, v any) string {
	s, ok := v.(string)
	g.Expect(ok).To(BeTrue())
	out, err := base64.StdEncoding.DecodeString(s)
	g.Expect(err).NotTo(HaveOccurred())
	return string(out)
}
