package git

import (
	"bytes"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
)

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
