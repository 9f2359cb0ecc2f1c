package kustomize

import (
	"sync"
	"testing"

	. "github.com/onsi/gomega"
)

func TestBuildDecryptsSecretGeneratorInputsInMemory(t *testing.T) {
	g := NewWithT(t)
	root := writeTree(t, map[string]string{
		"app/kustomization.yaml": `resources: [../base]
secretGenerator:
- name: creds
  envs: [creds.env.enc]
  files: [token=token.enc, config.json=config.enc]
configMapGenerator:
- name: plain
  files: [note.enc]
`,
		"app/creds.env.enc":       "ENC:user=admin\n",
		"app/token.enc":           "ENC:s3cr3t",
		"app/config.enc":          `ENC:{"a":1}`,
		"app/note.enc":            "ENC:left alone",
		"base/kustomization.yaml": "secretGenerator:\n- name: base\n  files: [key.txt]\n",
		"base/key.txt":            "ENC:from the base",
	})
	before := snapshot(t, root)
	dec := &fakeDecryptor{}

	objs, err := Build(root, "app", Options{Decryptor: dec})

	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(snapshot(t, root)).To(Equal(before))
	g.Expect(dec.seen).To(ConsistOf(
		GeneratorFile{Path: "/app/creds.env.enc", Env: true},
		GeneratorFile{Path: "/app/token.enc", Key: "token"},
		GeneratorFile{Path: "/app/config.enc", Key: "config.json"},
		GeneratorFile{Path: "/base/key.txt", Key: "key.txt"},
	))
	creds := findPrefix(objs, "Secret", "creds-")
	g.Expect(creds).NotTo(BeNil())
	g.Expect(creds.Object["data"]).To(Equal(map[string]any{
		"user":        "YWRtaW4=",     // admin
		"token":       "czNjcjN0",     // s3cr3t
		"config.json": "eyJhIjoxfQ==", // {"a":1}
	}))
	plain := findPrefix(objs, "ConfigMap", "plain-")
	g.Expect(plain).NotTo(BeNil())
	g.Expect(plain.Object["data"]).To(HaveKeyWithValue("note.enc", "ENC:left alone"))
}

func TestBuildReportsDecryptionErrors(t *testing.T) {
	g := NewWithT(t)
	root := writeTree(t, map[string]string{
		"app/kustomization.yaml": "secretGenerator:\n- name: creds\n  files: [token.enc]\n",
		"app/token.enc":          "ENC:broken",
	})

	_, err := Build(root, "app", Options{Decryptor: &fakeDecryptor{fail: true}})

	g.Expect(err).To(MatchError(`/app/kustomization.yaml: secretGenerator "creds": cannot decrypt /app/token.enc`))
}

// fakeDecryptor "decrypts" content that starts with "ENC:" by dropping the
// prefix, and records what it was asked.
type fakeDecryptor struct {
	mu   sync.Mutex
	seen []GeneratorFile
	fail bool
}

func (d *fakeDecryptor) DecryptGeneratorFile(f GeneratorFile, data []byte) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seen = append(d.seen, f)
	if d.fail {
		return nil, &decryptError{path: f.Path}
	}
	if len(data) > 4 && string(data[:4]) == "ENC:" {
		return data[4:], nil
	}
	return data, nil
}

type decryptError struct{ path string }

func (e *decryptError) Error() string { return "cannot decrypt " + e.path }
