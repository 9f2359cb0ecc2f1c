package decrypt

import (
	"bytes"
	"strings"
	"testing"

	"github.com/getsops/sops/v3/cmd/sops/formats"
	"github.com/getsops/sops/v3/keys"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ferrycd/ferry/kustomize-controller/internal/decrypt/sopstest"
	"github.com/ferrycd/ferry/pkg/kustomize"
)

// TestSecretGeneratorInputs builds kustomizations whose secretGenerator
// reads sops-encrypted files, with a Decryptor as the build's hook.
func TestSecretGeneratorInputs(t *testing.T) {
	ageK, otherAge := sopstest.NewAgeKey(t), sopstest.NewAgeKey(t)
	enc := func(plain string, f formats.Format) []byte {
		return sopstest.Encrypt(t, []byte(plain), sopstest.Options{Format: f, Keys: []keys.MasterKey{ageK.MasterKey(t)}})
	}
	dotenv := enc("DB_USER=admin\nDB_PASS=hunter2\n", formats.Dotenv)
	tests := []struct {
		name    string
		files   map[string][]byte
		keys    map[string][]byte
		nilDec  bool
		want    map[string]string
		wantErr string
	}{
		{
			name: "dotenv through envs",
			files: map[string][]byte{
				"app/kustomization.yaml":  []byte("secretGenerator:\n- name: creds\n  envs: [creds.env.encrypted]\n"),
				"app/creds.env.encrypted": dotenv,
			},
			keys: map[string][]byte{"age.agekey": ageK.File},
			want: map[string]string{"DB_USER": "admin", "DB_PASS": "hunter2"},
		},
		{
			name: "binary file, format from the key",
			files: map[string][]byte{
				"app/kustomization.yaml": []byte("secretGenerator:\n- name: creds\n  files: [token=token.encrypted]\n"),
				"app/token.encrypted":    enc("my-secret-token\n", formats.Binary),
			},
			keys: map[string][]byte{"age.agekey": ageK.File},
			want: map[string]string{"token": "my-secret-token\n"},
		},
		{
			name: "JSON and YAML files, format from the key's extension",
			files: map[string][]byte{
				"app/kustomization.yaml":    []byte("secretGenerator:\n- name: creds\n  files:\n  - config.json=config.json.encrypted\n  - values.yaml=values.encrypted\n"),
				"app/config.json.encrypted": enc(`{"user": "admin"}`, formats.Json),
				"app/values.encrypted":      enc("user: admin\n", formats.Yaml),
			},
			keys: map[string][]byte{"age.agekey": ageK.File},
			want: map[string]string{"config.json": "{\n\t\"user\": \"admin\"\n}\n", "values.yaml": "user: admin\n"},
		},
		{
			name: "inputs of a base are decrypted too, plain inputs pass",
			files: map[string][]byte{
				"app/kustomization.yaml":  []byte("resources: [../base]\n"),
				"base/kustomization.yaml": []byte("secretGenerator:\n- name: creds\n  envs: [creds.env]\n  files: [plain.txt]\n"),
				"base/creds.env":          dotenv,
				"base/plain.txt":          []byte("not a secret"),
			},
			keys: map[string][]byte{"age.agekey": ageK.File},
			want: map[string]string{"DB_USER": "admin", "DB_PASS": "hunter2", "plain.txt": "not a secret"},
		},
		{
			name: "a wrong key names the file and the kustomization",
			files: map[string][]byte{
				"app/kustomization.yaml": []byte("secretGenerator:\n- name: creds\n  envs: [creds.env]\n"),
				"app/creds.env":          dotenv,
			},
			keys:    map[string][]byte{"other.agekey": otherAge.File},
			wantErr: `/app/kustomization.yaml: secretGenerator "creds": failed to decrypt /app/creds.env: no key of the decryption Secret can decrypt it`,
		},
		{
			name: "without spec.decryption an encrypted input is an error",
			files: map[string][]byte{
				"app/kustomization.yaml": []byte("secretGenerator:\n- name: creds\n  envs: [creds.env]\n"),
				"app/creds.env":          dotenv,
			},
			nilDec:  true,
			wantErr: "/app/creds.env is encrypted with SOPS but spec.decryption is not set",
		},
		{
			name: "a file changed after encryption fails its MAC",
			files: map[string][]byte{
				"app/kustomization.yaml": []byte("secretGenerator:\n- name: creds\n  envs: [creds.env]\n"),
				"app/creds.env":          dropLine(dotenv, "DB_PASS="),
			},
			keys:    map[string][]byte{"age.agekey": ageK.File},
			wantErr: "message authentication code does not match",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			root := writeTree(t, tt.files)
			var d *Decryptor
			if !tt.nilDec {
				var err error
				d, err = NewDecryptor(tt.keys)
				g.Expect(err).NotTo(HaveOccurred())
			}

			objs, err := kustomize.Build(root, "app", kustomize.Options{Decryptor: d})

			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				g.Expect(err.Error()).NotTo(ContainSubstring("hunter2"))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(objs).To(HaveLen(1))
			g.Expect(Objects(d, objs)).To(Succeed())
			got := map[string]string{}
			for k, v := range objs[0].Object["data"].(map[string]any) {
				got[k] = decode(g, v)
			}
			g.Expect(got).To(Equal(tt.want))
		})
	}
}

// dropLine removes the line starting with prefix.
func dropLine(data []byte, prefix string) []byte {
	var out [][]byte
	for _, line := range bytes.Split(data, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte(prefix)) {
			out = append(out, line)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

func TestDecryptFile(t *testing.T) {
	ageK := sopstest.NewAgeKey(t)
	d, err := NewDecryptor(map[string][]byte{"age.agekey": ageK.File})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		data  []byte
		want  string
		isNil bool
	}{
		{name: "app.yaml", data: sopstest.Encrypt(t, []byte("a: b\n"), sopstest.Options{Format: formats.Yaml, Keys: []keys.MasterKey{ageK.MasterKey(t)}}), want: "a: b\n"},
		{name: "app.json", data: sopstest.Encrypt(t, []byte(`{"a":"b"}`), sopstest.Options{Format: formats.Json, Keys: []keys.MasterKey{ageK.MasterKey(t)}}), want: "{\n\t\"a\": \"b\"\n}\n"},
		{name: "app.env", data: sopstest.Encrypt(t, []byte("A=b\n"), sopstest.Options{Format: formats.Dotenv, Keys: []keys.MasterKey{ageK.MasterKey(t)}}), want: "A=b\n"},
		{name: "app.ini", data: sopstest.Encrypt(t, []byte("[s]\na = b\n"), sopstest.Options{Format: formats.Ini, Keys: []keys.MasterKey{ageK.MasterKey(t)}}), want: "[s]\na = b\n"},
		{name: "app.bin", data: sopstest.Encrypt(t, []byte{0, 1, 2, 255}, sopstest.Options{Format: formats.Binary, Keys: []keys.MasterKey{ageK.MasterKey(t)}}), want: string([]byte{0, 1, 2, 255})},
		{name: "plain.yaml", data: []byte("sops: is just a word here\nmac: too\n"), want: "sops: is just a word here\nmac: too\n"},
		{name: ".sops.yaml", data: []byte("creation_rules:\n- path_regex: .*\n  age: age1x\n# sops mac\n"), want: "creation_rules:\n- path_regex: .*\n  age: age1x\n# sops mac\n"},
		{name: "plain.env", data: []byte("# sops_mac= is mentioned\nA=b\n"), want: "# sops_mac= is mentioned\nA=b\n"},
		{name: "plain.yaml without decryption", data: []byte("a: b\n"), want: "a: b\n", isNil: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			dec := d
			if tt.isNil {
				dec = nil
			}
			got, err := dec.DecryptFile(strings.TrimSuffix(tt.name, " without decryption"), tt.data)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(got)).To(Equal(tt.want))
		})
	}
}

// TestDecryptedSecretsAreReadyForApply checks that decrypted objects stay
// usable unstructured objects (deep-copyable numbers and all).
func TestDecryptedSecretsAreReadyForApply(t *testing.T) {
	g := NewWithT(t)
	ageK := sopstest.NewAgeKey(t)
	obj := parse(t, sopstest.Encrypt(t, []byte(secretYAML), sopstest.Options{Format: formats.Yaml, Keys: []keys.MasterKey{ageK.MasterKey(t)}, EncryptedRegex: dataRegex}))
	d, err := NewDecryptor(map[string][]byte{"age.agekey": ageK.File})
	g.Expect(err).NotTo(HaveOccurred())

	g.Expect(d.DecryptObjects([]*unstructured.Unstructured{obj})).To(Succeed())

	g.Expect(func() { obj.DeepCopy() }).NotTo(Panic())
	g.Expect(IsEncryptedSecret(obj)).To(BeFalse())
}
