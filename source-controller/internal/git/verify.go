package git

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// KeyRingSuffix marks the data keys of a verification Secret that hold
// trusted keys: each holds an ASCII-armored OpenPGP public key ring. Other
// data keys are ignored, as in Flux.
const KeyRingSuffix = ".asc"

// TrustedKeys returns the key rings of a verification Secret's data, in the
// order of their names, and a digest that changes whenever one of them is
// added, removed or edited, so a reconciler can tell that a verification it
// recorded was made with other keys.
func TrustedKeys(data map[string][]byte) (rings []string, digest string) {
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(data)) {
		if !strings.HasSuffix(name, KeyRingSuffix) {
			continue
		}
		rings = append(rings, string(data[name]))
		// Length-prefix both parts so that moving bytes between a name and
		// its value, or between entries, changes the digest.
		for _, part := range [][]byte{[]byte(name), data[name]} {
			h.Write([]byte{byte(len(part) >> 24), byte(len(part) >> 16), byte(len(part) >> 8), byte(len(part))})
			h.Write(part)
		}
	}
	return rings, "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// VerifyCommit checks that c's signature was made by one of the armored PGP
// public key rings (one ring per entry, as found under the *.asc keys of
// the verification Secret) and returns the signer's key ID. It works on the
// payload Clone recorded, so verification needs no repository on disk.
func VerifyCommit(c *Commit, keyRings ...string) (signer string, err error) {
	if c == nil {
		return "", newError(KindVerification, nil, "no commit to verify")
	}
	what := "commit '" + c.Hash + "'"
	return verify(what, c.Encoded, c.Signature, keyRings)
}

// VerifyTag checks an annotated tag's signature the same way. A lightweight
// tag has no object and so nothing to sign; it fails verification with a
// message that says so.
func VerifyTag(t *Tag, keyRings ...string) (signer string, err error) {
	if t == nil {
		return "", newError(KindVerification, nil,
			"the reference is not a tag: Tag verification needs spec.ref.tag, semver, or a refs/tags/ name")
	}
	if t.Hash == "" {
		return "", newError(KindVerification, nil,
			"tag '%s' is a lightweight tag and cannot carry a signature: use an annotated, signed tag", t.Name)
	}
	return verify("tag '"+t.Name+"'", t.Encoded, t.Signature, keyRings)
}

func verify(what string, payload []byte, signature string, keyRings []string) (string, error) {
	if signature == "" {
		return "", newError(KindVerification, nil, "%s is not signed", what)
	}
	if strings.Contains(signature, "BEGIN SSH SIGNATURE") {
		return "", newError(KindVerification, nil,
			"%s is signed with an SSH key: only PGP signatures can be verified", what)
	}
	keyring, err := readKeyRings(keyRings)
	if err != nil {
		return "", err
	}
	entity, err := openpgp.CheckArmoredDetachedSignature(
		keyring, bytes.NewReader(payload), strings.NewReader(signature), nil)
	if err != nil {
		return "", newError(KindVerification, err,
			"signature of %s was not made by a trusted key: %s", what, err)
	}
	return entity.PrimaryKey.KeyIdString(), nil
}

// readKeyRings merges the rings into one so a single check covers them all.
// A ring that does not parse is an error rather than skipped: a typo in the
// Secret should not silently narrow the set of trusted keys.
func readKeyRings(rings []string) (openpgp.EntityList, error) {
	if len(rings) == 0 {
		return nil, newError(KindInvalid, nil, "no PGP public keys to verify against: add *.asc keys to the verification Secret")
	}
	var all openpgp.EntityList
	for i, r := range rings {
		list, err := openpgp.ReadArmoredKeyRing(strings.NewReader(r))
		if err != nil {
			return nil, newError(KindInvalid, err, "verification key %d is not an armored PGP public key ring: %s", i+1, err)
		}
		all = append(all, list...)
	}
	return all, nil
}
