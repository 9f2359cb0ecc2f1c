// Package sopstest makes SOPS keys and encrypted documents for tests: fresh
// age and OpenPGP keys in the form a decryption Secret holds them, and
// documents encrypted with the sops library the way the sops CLI encrypts
// them. It is imported by tests only.
package sopstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/keys"
	"github.com/getsops/sops/v3/keyservice"
	"github.com/getsops/sops/v3/kms"
	"github.com/getsops/sops/v3/pgp"
	"github.com/getsops/sops/v3/stores/dotenv"
	"github.com/getsops/sops/v3/stores/ini"
	sopsjson "github.com/getsops/sops/v3/stores/json"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
	"github.com/getsops/sops/v3/version"
	"google.golang.org/grpc"
)

// SecretRegex limits encryption to a Secret's values, as Flux's docs
// recommend, so its kind and metadata stay readable to kustomize.
const SecretRegex = "^(data|stringData)$"

// AgeKey is a fresh age identity.
type AgeKey struct {
	Identity *age.X25519Identity
	// File is the identity file, as a decryption Secret's *.agekey entry
	// holds it.
	File []byte
}

// NewAgeKey generates an age identity.
func NewAgeKey(t testing.TB) AgeKey {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	file := fmt.Sprintf("# created: test\n# public key: %s\n%s\n", id.Recipient(), id)
	return AgeKey{Identity: id, File: []byte(file)}
}

// Recipient is the key's public age recipient, "age1...".
func (k AgeKey) Recipient() string { return k.Identity.Recipient().String() }

// MasterKey is the sops master key that encrypts for this identity.
func (k AgeKey) MasterKey(t testing.TB) keys.MasterKey {
	t.Helper()
	mk, err := sopsage.MasterKeyFromRecipient(k.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	return mk
}

// PGPKey is a fresh OpenPGP key (EdDSA/ECDH, quick to make).
type PGPKey struct {
	Entity *openpgp.Entity
	// Armored is the armored private key ring, as a decryption Secret's
	// *.asc entry holds it.
	Armored []byte
}

// NewPGPKey generates an OpenPGP key; a non-empty passphrase protects the
// exported private key with it.
func NewPGPKey(t testing.TB, passphrase string) PGPKey {
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
	key := PGPKey{Entity: e, Armored: buf.Bytes()}
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
		key.Armored = buf.Bytes()
	}
	return key
}

// Fingerprint is the primary key's fingerprint in upper-case hex.
func (k PGPKey) Fingerprint() string { return fmt.Sprintf("%X", k.Entity.PrimaryKey.Fingerprint) }

// PublicOnly is the armored public key alone, which cannot decrypt.
func (k PGPKey) PublicOnly(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, _ := pgparmor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err := k.Entity.Serialize(w); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	return buf.Bytes()
}

// MasterKey is the sops master key that encrypts for this key; Encrypt
// also needs the Entity in Options.PGP.
func (k PGPKey) MasterKey() keys.MasterKey { return pgp.NewMasterKeyFromFingerprint(k.Fingerprint()) }

// KMSKey is an AWS KMS master key, one Ferry cannot use: Encrypt wraps the
// data key for it with a stand-in.
func KMSKey() keys.MasterKey {
	return kms.NewMasterKeyFromArn("arn:aws:kms:eu-west-1:111122223333:key/test", nil, "")
}

// Options says how to encrypt a document.
type Options struct {
	// Format is the document's format.
	Format formats.Format
	// Keys are one key group's master keys.
	Keys []keys.MasterKey
	// PGP are the entities behind OpenPGP master keys.
	PGP []*openpgp.Entity
	// EncryptedRegex limits encryption to matching keys, SecretRegex for a
	// Secret; empty encrypts every value.
	EncryptedRegex string
}

// Encrypt encrypts plain content with the sops library the way the sops
// CLI does: load, generate and wrap a data key, encrypt the tree, seal the
// MAC, emit.
func Encrypt(t testing.TB, plain []byte, o Options) []byte {
	t.Helper()
	s := store(o.Format)
	branches, err := s.LoadPlainFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	tree := sops.Tree{
		Branches: branches,
		Metadata: sops.Metadata{
			KeyGroups:      []sops.KeyGroup{o.Keys},
			EncryptedRegex: o.EncryptedRegex,
			Version:        version.Version,
		},
	}
	dataKey, errs := tree.GenerateDataKeyWithKeyServices([]keyservice.KeyServiceClient{encrypter{pgp: o.PGP}})
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

// store returns the sops store of a format, configured as the sops CLI's
// defaults are.
func store(f formats.Format) sops.Store {
	switch f {
	case formats.Yaml:
		return sopsyaml.NewStore(&config.YAMLStoreConfig{})
	case formats.Json:
		return sopsjson.NewStore(&config.JSONStoreConfig{Indent: -1})
	case formats.Dotenv:
		return dotenv.NewStore(&config.DotenvStoreConfig{})
	case formats.Ini:
		return ini.NewStore(&config.INIStoreConfig{})
	default:
		return sopsjson.NewBinaryStore(&config.JSONBinaryStoreConfig{Indent: -1})
	}
}

// encrypter wraps sops data keys, like the sops CLI's local key service:
// age through sops' own age key source (it needs only the recipient),
// OpenPGP through go-crypto (sops would ask gpg), and anything else with a
// stand-in, to fake keys Ferry cannot use.
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
	return nil, errors.New("the sopstest encrypter does not decrypt")
}
