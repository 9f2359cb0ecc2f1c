// Package cosign verifies the cosign signatures of OCI artifacts against
// trusted public keys, in cosign's classic format (cosign's
// specs/SIGNATURE_SPEC.md): the signatures of the manifest sha256:<hex> are
// an OCI image tagged sha256-<hex>.sig in the same repository, each layer a
// simple-signing JSON payload (media type
// application/vnd.dev.cosign.simplesigning.v1+json) that names the signed
// manifest digest, with its base64 signature in the layer annotation
// dev.cosignproject.cosign/signature. That is what `cosign sign --key`
// writes with cosign v2, and with cosign v3 given --new-bundle-format=false.
// Cosign's newer Sigstore bundles, attached through the referrers API, are
// not read: verifying them well means the transparency-log and timestamp
// checks that key-based verification here deliberately leaves out, so a
// bundle-only artifact is refused as unsigned.
//
// Key-based verification is offline, as Flux's is: the Rekor bundle
// annotation a signature may carry is ignored, so the controller needs no
// route to a transparency log. Keyless verification (Fulcio certificates,
// OIDC identities) is out of scope.
//
// Why not cosign's own library: its verification package pulls in the whole
// cosign tree (TUF, Rekor, Fulcio clients, some 900 modules) for a check that
// is a registry read and a signature verification. This package uses the
// sigstore library cosign itself builds on for the parts where exactness
// matters (parsing PEM public keys, verifying ECDSA, RSA and Ed25519
// signatures the way cosign does, the simple-signing payload type) and
// go-containerregistry, which the controller already uses, for the registry.
package cosign

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

const (
	// PayloadMediaType is the media type of a simple-signing payload layer.
	PayloadMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"

	// SignatureAnnotation is the layer annotation holding the base64
	// signature of the layer's payload.
	SignatureAnnotation = "dev.cosignproject.cosign/signature"

	// KeySuffix ends the name of every Secret entry that holds a trusted
	// public key, as in Flux.
	KeySuffix = ".pub"

	// maxSignatures and maxPayloadSize bound what a hostile signature image
	// can make the controller read; a cosign payload is a few hundred bytes.
	maxSignatures  = 64
	maxPayloadSize = 1 << 20
)

// Keys are the trusted public keys.
type Keys struct {
	names     []string
	verifiers []signature.Verifier
}

// KeysFromSecret loads the public keys of a Secret's data: every entry whose
// name ends in .pub, PEM-encoded as cosign generate-key-pair writes them.
func KeysFromSecret(data map[string][]byte) (*Keys, error) {
	k := &Keys{}
	for entry := range data {
		if strings.HasSuffix(entry, KeySuffix) {
			k.names = append(k.names, entry)
		}
	}
	if len(k.names) == 0 {
		return nil, fmt.Errorf("it has no entry ending in '%s' with a public key", KeySuffix)
	}
	sort.Strings(k.names)
	for _, entry := range k.names {
		pub, err := cryptoutils.UnmarshalPEMToPublicKey(data[entry])
		if err != nil {
			return nil, fmt.Errorf("entry '%s' is not a PEM public key: %w", entry, err)
		}
		v, err := signature.LoadVerifier(pub, crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("entry '%s' holds an unsupported public key: %w", entry, err)
		}
		k.verifiers = append(k.verifiers, v)
	}
	return k, nil
}

// Names returns the names of the Secret entries the keys came from.
func (k *Keys) Names() []string { return k.names }

// SignatureTag returns where cosign stores the signatures of the manifest
// d: the tag sha256-<hex>.sig in d's repository.
func SignatureTag(d name.Digest) name.Tag {
	return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".sig")
}

// Registry reads manifests; oci.Client is one.
type Registry interface {
	// Image returns the manifest at ref, with blobs read on demand and
	// checked against their digests.
	Image(ctx context.Context, ref name.Reference) (v1.Image, error)
}

// NotFound reports whether err means the registry does not hold a
// manifest; oci.IsNotFound is one.
type NotFound func(error) bool

// Verify checks that the artifact d has a cosign signature made with one of
// keys: it fetches the signature image at SignatureTag(d) and accepts the
// first payload that a key verifies and that names d's digest.
func Verify(ctx context.Context, reg Registry, notFound NotFound, keys *Keys, d name.Digest) error {
	tag := SignatureTag(d)
	img, err := reg.Image(ctx, tag)
	if err != nil {
		if notFound(err) {
			return fmt.Errorf("no signature found for '%s': the registry has no tag '%s'", d, tag.TagStr())
		}
		return fmt.Errorf("failed to fetch the signatures of '%s': %w", d, err)
	}
	return keys.VerifyImage(img, d)
}

// VerifyImage checks that sigs, the signature image of the artifact d,
// holds a payload for d's digest signed with one of keys.
func (k *Keys) VerifyImage(sigs v1.Image, d name.Digest) error {
	m, err := sigs.Manifest()
	if err != nil {
		return fmt.Errorf("failed to read the signatures of '%s': %w", d, err)
	}
	var problems []string
	seen := 0
	for _, l := range m.Layers {
		if l.MediaType != PayloadMediaType {
			continue
		}
		if seen++; seen > maxSignatures {
			problems = append(problems, fmt.Sprintf("more than %d signatures, the rest were not read", maxSignatures))
			break
		}
		err := k.verifyLayer(sigs, l, d.DigestStr())
		if err == nil {
			return nil
		}
		problems = append(problems, err.Error())
	}
	if seen == 0 {
		return fmt.Errorf("no signature found for '%s': tag '%s' holds no cosign signature", d, SignatureTag(d).TagStr())
	}
	return fmt.Errorf("no signature of '%s' verifies with the public keys %s: %s",
		d, strings.Join(k.names, ", "), strings.Join(problems, "; "))
}

// errNoKey means no trusted key made a signature.
var errNoKey = errors.New("not signed with any of these keys")

// verifyLayer checks one signature: the signature over the payload with each
// key, then the payload's claim, so a payload signed for another artifact
// cannot be replayed for this one.
func (k *Keys) verifyLayer(sigs v1.Image, l v1.Descriptor, digest string) error {
	short := l.Digest.Hex
	if len(short) > 12 {
		short = short[:12]
	}
	b64, ok := l.Annotations[SignatureAnnotation]
	if !ok {
		return fmt.Errorf("payload %s has no '%s' annotation", short, SignatureAnnotation)
	}
	sig, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return fmt.Errorf("payload %s: signature is not base64", short)
	}
	if l.Size > maxPayloadSize {
		return fmt.Errorf("payload %s exceeds %d bytes", short, maxPayloadSize)
	}
	data, err := readPayload(sigs, l.Digest)
	if err != nil {
		return fmt.Errorf("payload %s: %w", short, err)
	}
	signed := false
	for _, v := range k.verifiers {
		if v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(data)) == nil {
			signed = true
			break
		}
	}
	if !signed {
		return fmt.Errorf("payload %s: %w", short, errNoKey)
	}
	var claim payload.SimpleContainerImage
	if err := json.Unmarshal(data, &claim); err != nil {
		return fmt.Errorf("payload %s is not a simple-signing document: %w", short, err)
	}
	if claim.Critical.Type != payload.CosignSignatureType {
		return fmt.Errorf("payload %s has type '%s', not '%s'", short, claim.Critical.Type, payload.CosignSignatureType)
	}
	if claim.Critical.Image.DockerManifestDigest != digest {
		return fmt.Errorf("payload %s signs '%s', another artifact", short, claim.Critical.Image.DockerManifestDigest)
	}
	return nil
}

// readPayload reads a payload blob, up to maxPayloadSize; the registry
// client checks its digest at the end of the read.
func readPayload(img v1.Image, h v1.Hash) ([]byte, error) {
	layer, err := img.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	rc, err := layer.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxPayloadSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxPayloadSize {
		return nil, fmt.Errorf("exceeds %d bytes", maxPayloadSize)
	}
	return data, nil
}
