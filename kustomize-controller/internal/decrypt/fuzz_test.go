package decrypt

import (
	"bytes"
	"strings"
	"testing"

	"github.com/getsops/sops/v3/cmd/sops/formats"
	"github.com/getsops/sops/v3/keys"

	"github.com/ferrycd/ferry/kustomize-controller/internal/decrypt/sopstest"
)

// fuzzSecret is the plain value in every encrypted seed; no error may show it.
const fuzzSecret = "s3cr3t-fuzz-value"

// fuzzNames are the file names the fuzzer picks from: one per format the
// name's extension selects.
var fuzzNames = []string{"secret.yaml", "secret.json", "secret.env", "secret.ini", "secret.bin"}

// FuzzDecryptFile decrypts arbitrary files of every format with a real age
// key, starting from documents the sops library encrypted for it. A file
// in a repository is untrusted input: nothing may panic; content that is
// not a SOPS document comes back unchanged; a Decryptor without keys never
// returns changed content; and no error ever shows a decrypted value. The
// encrypted seeds are made afresh with the test's key; testdata/fuzz holds
// plain and malformed ones.
func FuzzDecryptFile(f *testing.F) {
	key := sopstest.NewAgeKey(f)
	plains := map[formats.Format]string{
		formats.Yaml:   "password: " + fuzzSecret + "\nlist: [a, 1]\n",
		formats.Json:   `{"password":"` + fuzzSecret + `","n":1}`,
		formats.Dotenv: "PASSWORD=" + fuzzSecret + "\n",
		formats.Ini:    "[db]\npassword = " + fuzzSecret + "\n",
		formats.Binary: fuzzSecret,
	}
	for i, name := range fuzzNames {
		format := formats.FormatForPath(name)
		enc := sopstest.Encrypt(f, []byte(plains[format]), sopstest.Options{Format: format, Keys: []keys.MasterKey{key.MasterKey(f)}})
		f.Add(uint8(i), enc)
		f.Add(uint8(i), []byte(plains[format]))
	}
	d, err := NewDecryptor(map[string][]byte{"age.agekey": key.File})
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, pick uint8, data []byte) {
		name := fuzzNames[int(pick)%len(fuzzNames)]
		out, err := d.DecryptFile(name, data)
		if err != nil {
			if strings.Contains(err.Error(), fuzzSecret) {
				t.Fatalf("error shows a decrypted value: %v", err)
			}
		} else if !bytes.Equal(out, data) && !bytes.Contains(data, []byte("sops")) {
			t.Fatalf("%s without SOPS metadata changed by decryption:\n%q\n%q", name, data, out)
		}

		var none *Decryptor
		if out, err := none.DecryptFile(name, data); err == nil && !bytes.Equal(out, data) {
			t.Fatalf("a Decryptor without keys changed %s", name)
		}
	})
}
