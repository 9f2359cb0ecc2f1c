// Package cosigntest signs OCI artifacts in a test registry the way
// `cosign sign --key` does (cosign's classic format: an OCI image under the
// sha256-<hex>.sig tag whose simple-signing payload layers carry their
// base64 ECDSA P-256 signature in an annotation), so tests prove that real
// cosign signatures verify without running the cosign CLI.
package cosigntest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"testing"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/onsi/gomega"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/payload"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/source-controller/internal/cosign"
)

// Key is an ECDSA P-256 key pair, the kind cosign generate-key-pair makes.
type Key struct {
	signer signature.Signer
	// PublicPEM is the public key as cosign.pub holds it.
	PublicPEM []byte
}

// NewKey generates a key pair.
func NewKey(t testing.TB) *Key {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := signature.LoadSigner(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return &Key{signer: signer, PublicPEM: pub}
}

// Secret returns Secret data holding the public keys as cosign.pub,
// other1.pub, ...
func Secret(keys ...*Key) map[string][]byte {
	data := map[string][]byte{}
	for i, k := range keys {
		entry := "cosign.pub"
		if i > 0 {
			entry = fmt.Sprintf("other%d.pub", i)
		}
		data[entry] = k.PublicPEM
	}
	return data
}

// Sign signs the artifact ref (host/repo@sha256:<hex>) and pushes the
// signature to its .sig tag, next to any signatures already there, as cosign
// sign --key does.
func (k *Key) Sign(t testing.TB, ref string) {
	t.Helper()
	k.SignClaim(t, ref, ref)
}

// SignClaim pushes to ref's .sig tag a signature whose payload names the
// artifact claimed, as an attacker replaying another artifact's signature
// would.
func (k *Key) SignClaim(t testing.TB, ref, claimed string) {
	t.Helper()
	claim, err := name.NewDigest(claimed)
	if err != nil {
		t.Fatal(err)
	}
	data, err := payload.Cosign{Image: claim}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	k.SignPayload(t, ref, data, nil)
}

// SignPayload signs data as the payload of a signature of ref and pushes
// it with the signature annotation and annotations (a Rekor bundle, a
// certificate) next to it.
func (k *Key) SignPayload(t testing.TB, ref string, data []byte, annotations map[string]string) {
	t.Helper()
	target, err := name.NewDigest(ref)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := k.signer.SignMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]string{cosign.SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)}
	for key, v := range annotations {
		all[key] = v
	}
	Push(t, target, data, all)
}

// Push appends one payload layer with annotations to the signature image of
// target.
func Push(t testing.TB, target name.Digest, data []byte, annotations map[string]string) {
	t.Helper()
	tag := cosign.SignatureTag(target)
	var img v1.Image = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	if existing, err := remote.Image(tag); err == nil {
		img = existing
	}
	img, err := mutate.Append(img, mutate.Addendum{
		Layer:       static.NewLayer(data, cosign.PayloadMediaType),
		Annotations: annotations,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
}

// ExpectSourceVerified checks the SourceVerified condition of a source a
// test read after its reconcile: its status, a message containing text and,
// when False, Flux's reason VerificationError.
func ExpectSourceVerified(t testing.TB, obj conditions.Getter, status metav1.ConditionStatus, text string) {
	t.Helper()
	g := gomega.NewWithT(t)
	c := conditions.Get(obj, sourcev1.SourceVerifiedCondition)
	g.Expect(c).NotTo(gomega.BeNil(), "no SourceVerified condition")
	g.Expect(c.Status).To(gomega.Equal(status), c.Message)
	g.Expect(c.Message).To(gomega.ContainSubstring(text))
	if status == metav1.ConditionFalse {
		g.Expect(c.Reason).To(gomega.Equal(sourcev1.VerificationErrorReason))
	}
}

// Verification is the spec.verify of a source whose trusted keys are in the
// Secret named secret.
func Verification(secret string) *sourcev1.OCIRepositoryVerification {
	return &sourcev1.OCIRepositoryVerification{Provider: "cosign", SecretRef: fluxmeta.LocalObjectReference{Name: secret}}
}
