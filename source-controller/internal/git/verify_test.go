package git

import (
	"bytes"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	. "github.com/onsi/gomega"
)

func cloneRef(t *testing.T, ref Reference) *Commit {
	t.Helper()
	c, err := Clone(testContext(t), t.TempDir(), CloneOptions{URL: fx.url, Ref: ref})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestVerifyCommit(t *testing.T) {
	t.Parallel()
	signed := cloneRef(t, Reference{Branch: "master"})
	unsigned := cloneRef(t, Reference{Branch: "feature"})
	wantSigner := fx.key.PrimaryKey.KeyIdString()

	t.Run("trusted key", func(t *testing.T) {
		g := NewWithT(t)
		signer, err := VerifyCommit(signed, fx.pubKey)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(signer).To(Equal(wantSigner))
	})
	t.Run("trusted key among others", func(t *testing.T) {
		g := NewWithT(t)
		signer, err := VerifyCommit(signed, fx.other, fx.pubKey)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(signer).To(Equal(wantSigner))
	})
	t.Run("untrusted key", func(t *testing.T) {
		g := NewWithT(t)
		_, err := VerifyCommit(signed, fx.other)
		g.Expect(err).To(MatchError(ErrVerification))
		g.Expect(err.Error()).To(ContainSubstring("signature of commit '" + fx.c2 + "' was not made by a trusted key"))
	})
	t.Run("tampered payload", func(t *testing.T) {
		g := NewWithT(t)
		tampered := *signed
		tampered.Encoded = append([]byte(nil), signed.Encoded...)
		tampered.Encoded[len(tampered.Encoded)-2] ^= 1
		_, err := VerifyCommit(&tampered, fx.pubKey)
		g.Expect(err).To(MatchError(ErrVerification))
	})
	t.Run("unsigned commit", func(t *testing.T) {
		g := NewWithT(t)
		_, err := VerifyCommit(unsigned, fx.pubKey)
		g.Expect(err).To(MatchError(ErrVerification))
		g.Expect(err.Error()).To(ContainSubstring("is not signed"))
	})
	t.Run("SSH signature", func(t *testing.T) {
		g := NewWithT(t)
		sshSigned := *signed
		sshSigned.Signature = "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n"
		_, err := VerifyCommit(&sshSigned, fx.pubKey)
		g.Expect(err).To(MatchError(ErrVerification))
		g.Expect(err.Error()).To(ContainSubstring("only PGP signatures"))
	})
	t.Run("no keys", func(t *testing.T) {
		_, err := VerifyCommit(signed)
		NewWithT(t).Expect(KindOf(err)).To(Equal(KindInvalid))
	})
	t.Run("malformed key ring", func(t *testing.T) {
		g := NewWithT(t)
		_, err := VerifyCommit(signed, fx.pubKey, "not a key")
		g.Expect(KindOf(err)).To(Equal(KindInvalid))
		g.Expect(err.Error()).To(ContainSubstring("verification key 2"))
	})
	t.Run("nil commit", func(t *testing.T) {
		_, err := VerifyCommit(nil, fx.pubKey)
		NewWithT(t).Expect(err).To(MatchError(ErrVerification))
	})
}

func TestVerifyTag(t *testing.T) {
	t.Parallel()
	signedTag := cloneRef(t, Reference{Tag: "v1.1.0"})
	unsignedTag := cloneRef(t, Reference{SemVer: "~1.2"})
	lightweight := cloneRef(t, Reference{Tag: "v1.0.0"})
	branch := cloneRef(t, Reference{Branch: "feature"})

	t.Run("signed annotated tag", func(t *testing.T) {
		g := NewWithT(t)
		signer, err := VerifyTag(signedTag.Tag, fx.pubKey)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(signer).To(Equal(fx.key.PrimaryKey.KeyIdString()))
		// TagAndHEAD: the commit under the tag is signed too.
		_, err = VerifyCommit(signedTag, fx.pubKey)
		g.Expect(err).NotTo(HaveOccurred())
	})
	t.Run("untrusted key", func(t *testing.T) {
		_, err := VerifyTag(signedTag.Tag, fx.other)
		NewWithT(t).Expect(err).To(MatchError(ErrVerification))
	})
	t.Run("unsigned annotated tag", func(t *testing.T) {
		g := NewWithT(t)
		_, err := VerifyTag(unsignedTag.Tag, fx.pubKey)
		g.Expect(err).To(MatchError(ErrVerification))
		g.Expect(err.Error()).To(Equal("tag '1.2.0' is not signed"))
	})
	t.Run("lightweight tag", func(t *testing.T) {
		g := NewWithT(t)
		_, err := VerifyTag(lightweight.Tag, fx.pubKey)
		g.Expect(err).To(MatchError(ErrVerification))
		g.Expect(err.Error()).To(ContainSubstring("tag 'v1.0.0' is a lightweight tag"))
	})
	t.Run("not a tag", func(t *testing.T) {
		g := NewWithT(t)
		_, err := VerifyTag(branch.Tag, fx.pubKey)
		g.Expect(err).To(MatchError(ErrVerification))
		g.Expect(err.Error()).To(ContainSubstring("not a tag"))
	})
}

// TestTrustedKeys pins what the verify.secretRef API doc promises: only the
// .asc entries are key rings, one entry may hold several keys, and any edit
// of those entries (and only of those) changes the digest.
func TestTrustedKeys(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	signed := cloneRef(t, Reference{Branch: "master"})

	base := map[string][]byte{"trusted.asc": []byte(fx.pubKey), "README": []byte("not a key")}
	rings, digest := TrustedKeys(base)
	g.Expect(rings).To(Equal([]string{fx.pubKey}), "entries not ending in .asc are ignored")
	g.Expect(digest).To(HavePrefix("sha256:"))
	_, err := VerifyCommit(signed, rings...)
	g.Expect(err).NotTo(HaveOccurred())

	_, same := TrustedKeys(map[string][]byte{"trusted.asc": []byte(fx.pubKey), "README": []byte("edited")})
	g.Expect(same).To(Equal(digest), "an ignored entry does not change the digest")
	for name, data := range map[string]map[string][]byte{
		"edited":  {"trusted.asc": []byte(fx.other)},
		"renamed": {"other.asc": []byte(fx.pubKey)},
		"added":   {"trusted.asc": []byte(fx.pubKey), "other.asc": []byte(fx.other)},
		"removed": {},
	} {
		_, d := TrustedKeys(data)
		g.Expect(d).NotTo(Equal(digest), name)
	}

	// One armored ring holding two keys, the trusted one second.
	var ring bytes.Buffer
	w, err := armor.Encode(&ring, openpgp.PublicKeyType, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(fx.otherKey.Serialize(w)).To(Succeed())
	g.Expect(fx.key.Serialize(w)).To(Succeed())
	g.Expect(w.Close()).To(Succeed())
	rings, _ = TrustedKeys(map[string][]byte{"team.asc": ring.Bytes()})
	signer, err := VerifyCommit(signed, rings...)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(signer).To(Equal(fx.key.PrimaryKey.KeyIdString()))
}
