// Package decrypt decrypts SOPS-encrypted Kubernetes Secrets and
// secretGenerator inputs of a Kustomization, with the age and OpenPGP keys
// of its spec.decryption Secret.
//
// Everything happens in memory with the sops library: documents are parsed
// and decrypted by sops, and the data key is unwrapped by a key service of
// our own over the parsed keys (filippo.io/age, ProtonMail/go-crypto). Why
// not sops' own key sources: they read age identities from the environment
// or files and use gpg for OpenPGP, which would mean writing private keys to
// disk and shelling out to a binary the controller image does not have.
//
// Decrypted values are never logged or put into errors; errors name the
// object or file and, when no key fits, the public keys that would.
package decrypt

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"filippo.io/age"
	"github.com/ProtonMail/go-crypto/openpgp"
	sopslogging "github.com/getsops/sops/v3/logging"
	"github.com/sirupsen/logrus"
)

const (
	// AgeKeySuffix marks a decryption Secret entry holding age identities.
	AgeKeySuffix = ".agekey"
	// PGPKeySuffix marks a decryption Secret entry holding an armored
	// OpenPGP private key ring.
	PGPKeySuffix = ".asc"
)

// Decryptor decrypts with the keys of one decryption Secret. A nil
// *Decryptor stands for a Kustomization without spec.decryption: it passes
// plain content through and refuses encrypted content with a clear error.
type Decryptor struct {
	keys *keyService
}

// keyService returns the keys, none for a Decryptor not made by
// NewDecryptor.
func (d *Decryptor) keyService() *keyService {
	if d.keys == nil {
		return &keyService{}
	}
	return d.keys
}

var quietSops sync.Once

// NewDecryptor parses the data of the Secret named by
// spec.decryption.secretRef: entries ending in ".agekey" hold age
// identities, entries ending in ".asc" hold armored, passphrase-less
// OpenPGP private keys. Other entries (Flux's KMS credentials, which Ferry
// does not support) are ignored. A malformed key is an error naming the
// entry, never showing its content.
func NewDecryptor(keys map[string][]byte) (*Decryptor, error) {
	quietSops.Do(func() {
		// sops logs through logrus to stderr; the controller logs on its
		// own terms.
		sopslogging.SetLevel(logrus.ErrorLevel)
	})
	ks := &keyService{}
	names := make([]string, 0, len(keys))
	for name := range keys {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		data := keys[name]
		switch {
		case strings.HasSuffix(name, AgeKeySuffix):
			ids, err := age.ParseIdentities(bytes.NewReader(data))
			if err != nil {
				return nil, fmt.Errorf("decryption Secret entry %q does not hold valid age identities", name)
			}
			ks.age = append(ks.age, ids...)
		case strings.HasSuffix(name, PGPKeySuffix):
			ring, err := readPGPKeys(name, data)
			if err != nil {
				return nil, err
			}
			ks.pgp = append(ks.pgp, ring...)
		}
	}
	return &Decryptor{keys: ks}, nil
}

// readPGPKeys parses an armored key ring and checks that its keys can
// decrypt without a passphrase, which a controller cannot type.
func readPGPKeys(name string, data []byte) (openpgp.EntityList, error) {
	ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decryption Secret entry %q does not hold an armored OpenPGP key ring", name)
	}
	for _, e := range ring {
		if e.PrivateKey == nil {
			return nil, fmt.Errorf("decryption Secret entry %q holds OpenPGP key %X without its private key", name, e.PrimaryKey.Fingerprint)
		}
		encrypted := e.PrivateKey.Encrypted
		for _, sub := range e.Subkeys {
			encrypted = encrypted || (sub.PrivateKey != nil && sub.PrivateKey.Encrypted)
		}
		if encrypted {
			return nil, fmt.Errorf("decryption Secret entry %q holds OpenPGP key %X protected by a passphrase; export it without one", name, e.PrimaryKey.Fingerprint)
		}
	}
	return ring, nil
}

// errNotConfigured marks encrypted content met by a nil Decryptor.
var errNotConfigured = errors.New("spec.decryption is not set")

// notConfigured is the error for encrypted content met without
// spec.decryption.
func notConfigured(what string) error {
	return fmt.Errorf("%s is encrypted with SOPS but spec.decryption is not set", what)
}
