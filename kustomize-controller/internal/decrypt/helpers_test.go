package decrypt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/ProtonMail/go-crypto/openpgp"
	pgparmor "github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/cmd/sops/formats"
	"github.com/getsops/sops/v3/keys"
	"github.com/getsops/sops/v3/keyservice"
	"github.com/getsops/sops/v3/kms"
	"github.com/getsops/sops/v3/pgp"
	"github.com/getsops/sops/v3/version"
	"google.golang.org/grpc"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// ageKey is a fresh age identity and its identity file, as a decryption
// Secret's *.agekey entry holds it.
type ageKey struct {
	id   *age.X25519Identity
	file []byte
}

func newAgeKey(t testing.TB) ageKey {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	file := fmt.Sprintf("# created: test\n# public key: %s\n%s\n", id.Recipient(), id)
	return ageKey{id: id, file: []byte(file)}
}

func (k ageKey) masterKey(t testing.TB) keys.MasterKey {
	mk, err := sopsage.MasterKeyFromRecipient(k.id.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	return mk
}

// pgpKey is a fresh OpenPGP key (EdDSA/ECDH, quick to make) and its
// armored private key ring, as a decryption Secret's *.asc entry holds it.
type pgpKey struct {
	entity  *openpgp.Entity
	armored []byte
}

func newPGPKey(t testing.TB, passphrase string) pgpKey {
	t.Helper()
	e, err := openpgp.NewEntity("Ferry Test", "", "test@ferry.invalid", &packet.Config{
		Algorithm: packet.PubKeyAlgoEdDSA,
		Curve:     packet.Curve25519,
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := pgparmor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SerializePrivate(w, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	key := pgpKey{entity: e, armored: buf.Bytes()}
	if passphrase != "" {
		if err := e.EncryptPrivateKeys([]byte(passphrase), nil); err != nil {
			t.Fatal(err)
		}
		buf.Reset()
		w, _ := pgparmor.Encode(&buf, openpgp.PrivateKeyType, nil)
		if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
			t.Fatal(err)
		}
		_ = w.Close()
		key.armored = buf.Bytes()
	}
	return key
}

func (k pgpKey) fingerprint() string { return fmt.Sprintf("%X", k.entity.PrimaryKey.Fingerprint) }

func (k pgpKey) publicOnly(t testing.TB) []byte {
	var buf bytes.Buffer
	w, _ := pgparmor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err := k.entity.Serialize(w); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	return buf.Bytes()
}

func (k pgpKey) masterKey() keys.MasterKey { return pgp.NewMasterKeyFromFingerprint(k.fingerprint()) }

// encrypter wraps sops data keys for the tests, like the sops CLI's local
// key service: age through sops' own age key source (it needs only the
// recipient), OpenPGP through go-crypto (sops would ask gpg), and anything
// else with a stand-in, to fake keys Ferry cannot use.
type encrypter struct {
	pgp []*openpgp.Entity
}

func (e encrypter) Encrypt(_ context.Context, in *keyservice.EncryptRequest, _ ...grpc.CallOption) (*keyservice.EncryptResponse, error) {
	switch {
	case in.GetKey().GetAgeKey() != nil:
		mk, err := sopsage.MasterKeyFromRecipient(in.GetKey().GetAgeKey().GetRecipient())
		if err != nil {
			return nil, err
		}
		if err := mk.Encrypt(in.GetPlaintext()); err != nil {
			return nil, err
		}
		return &keyservice.EncryptResponse{Ciphertext: mk.EncryptedDataKey()}, nil
	case in.GetKey().GetPgpKey() != nil:
		var buf bytes.Buffer
		aw, err := pgparmor.Encode(&buf, "PGP MESSAGE", nil)
		if err != nil {
			return nil, err
		}
		pw, err := openpgp.Encrypt(aw, e.pgp, nil, &openpgp.FileHints{IsBinary: true}, nil)
		if err != nil {
			return nil, err
		}
		if _, err := pw.Write(in.GetPlaintext()); err != nil {
			return nil, err
		}
		if err := pw.Close(); err != nil {
			return nil, err
		}
		if err := aw.Close(); err != nil {
			return nil, err
		}
		return &keyservice.EncryptResponse{Ciphertext: buf.Bytes()}, nil
	default:
		return &keyservice.EncryptResponse{Ciphertext: []byte("not really wrapped")}, nil
	}
}

func (encrypter) Decrypt(context.Context, *keyservice.DecryptRequest, ...grpc.CallOption) (*keyservice.DecryptResponse, error) {
	return nil, errors.New("the test encrypter does not decrypt")
}

// encryptOpts says how to encrypt a document.
type encryptOpts struct {
	format formats.Format
	// keys are one key group's master keys.
	keys []keys.MasterKey
	// pgp are the entities behind OpenPGP master keys.
	pgp []*openpgp.Entity
	// encryptedRegex limits encryption to matching keys, as Flux's docs
	// recommend for Secrets: "^(data|stringData)$".
	encryptedRegex string
}

// encrypt encrypts plain content with the sops library the way the sops
// CLI does: load, generate and wrap a data key, encrypt the tree, seal the
// MAC, emit.
func encrypt(t testing.TB, plain []byte, o encryptOpts) []byte {
	t.Helper()
	s := store(o.format)
	branches, err := s.LoadPlainFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	tree := sops.Tree{
		Branches: branches,
		Metadata: sops.Metadata{
			KeyGroups:      []sops.KeyGroup{o.keys},
			EncryptedRegex: o.encryptedRegex,
			Version:        version.Version,
		},
	}
	dataKey, errs := tree.GenerateDataKeyWithKeyServices([]keyservice.KeyServiceClient{encrypter{pgp: o.pgp}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	cipher := aes.NewCipher()
	tree.Metadata.LastModified = time.Now().UTC()
	mac, err := tree.Encrypt(dataKey, cipher)
	if err != nil {
		t.Fatal(err)
	}
	tree.Metadata.MessageAuthenticationCode, err = cipher.Encrypt(mac, dataKey, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.EmitEncryptedFile(tree)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// kmsKey is a master key Ferry cannot use.
func kmsKey() keys.MasterKey {
	return kms.NewMasterKeyFromArn("arn:aws:kms:eu-west-1:111122223333:key/test", nil, "")
}

// parse reads a YAML or JSON manifest into an object.
func parse(t testing.TB, manifest []byte) *unstructured.Unstructured {
	t.Helper()
	js, err := yaml.YAMLToJSON(manifest)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(js); err != nil {
		t.Fatal(err)
	}
	return u
}

// writeTree writes files (slash paths) into a new artifact directory.
func writeTree(t testing.TB, files map[string][]byte) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const secretYAML = `apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: apps
type: Opaque
data:
  password: czNjcjN0LXBhc3N3b3Jk
stringData:
  username: admin-user
`
