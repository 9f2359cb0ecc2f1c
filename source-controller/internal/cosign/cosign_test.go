package cosign_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	. "github.com/onsi/gomega"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/ferrycd/ferry/source-controller/internal/cosign"
	"github.com/ferrycd/ferry/source-controller/internal/cosign/cosigntest"
	"github.com/ferrycd/ferry/source-controller/internal/oci"
	"github.com/ferrycd/ferry/source-controller/internal/oci/ocitest"
)

const configMediaType = "application/vnd.cncf.flux.config.v1+json"

// artifact pushes an artifact with content to repo:tag and returns its
// host/repo@digest reference.
func artifact(t *testing.T, reg *ocitest.Registry, repo, tag, content string) name.Digest {
	t.Helper()
	digest := reg.Push(t, repo, tag, configMediaType, ocitest.Layer{MediaType: "application/vnd.cncf.flux.content.v1.tar+gzip", Data: []byte(content)})
	d, err := name.NewDigest(reg.Host() + "/" + repo + "@" + digest)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func keys(t *testing.T, data map[string][]byte) *cosign.Keys {
	t.Helper()
	k, err := cosign.KeysFromSecret(data)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return k
}

func TestSignatureTag(t *testing.T) {
	d, err := name.NewDigest("registry.local/app@sha256:" + strings.Repeat("ab", 32))
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	NewWithT(t).Expect(cosign.SignatureTag(d).String()).To(Equal("registry.local/app:sha256-" + strings.Repeat("ab", 32) + ".sig"))
}

func TestVerify(t *testing.T) {
	reg := ocitest.New(t)
	client := oci.New(oci.Options{})
	trusted, other := cosigntest.NewKey(t), cosigntest.NewKey(t)

	signed := artifact(t, reg, "app", "signed", "a")
	trusted.Sign(t, signed.String())
	unsigned := artifact(t, reg, "app", "unsigned", "b")
	wrongKey := artifact(t, reg, "app", "wrong-key", "c")
	other.Sign(t, wrongKey.String())
	both := artifact(t, reg, "app", "both", "d")
	other.Sign(t, both.String())
	trusted.Sign(t, both.String())
	replayed := artifact(t, reg, "app", "replayed", "e")
	trusted.SignClaim(t, replayed.String(), signed.String())
	tampered := artifact(t, reg, "app", "tampered", "f")
	cosigntest.Push(t, tampered, []byte(`{"critical":{"identity":{"docker-reference":"x"},"image":{"docker-manifest-digest":"`+tampered.DigestStr()+`"},"type":"cosign container image signature"},"optional":null}`),
		map[string]string{cosign.SignatureAnnotation: "MEUCIQDXmXWj59naoPFlLnCADIPLKgLG3LyFtKrbjpnkYiGNGgIgRxPpuYQDZR/8lYKcEfiQn5b+7VDoJIC72ZWHO9ZCp1A="})
	noAnnotation := artifact(t, reg, "app", "no-annotation", "g")
	cosigntest.Push(t, noAnnotation, []byte(`{}`), nil)
	// What cosign sign --key -a env=prod writes with a transparency-log
	// upload: payload annotations and a Rekor bundle annotation, which
	// offline key-based verification ignores.
	annotated := artifact(t, reg, "app", "annotated", "i")
	annotatedPayload, err := payload.Cosign{Image: annotated, ClaimedIdentity: reg.Host() + "/app:annotated",
		Annotations: map[string]any{"env": "prod"}}.MarshalJSON()
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	trusted.SignPayload(t, annotated.String(), annotatedPayload,
		map[string]string{"dev.sigstore.cosign/bundle": `{"SignedEntryTimestamp":"MEUCIQ==","Payload":{"logIndex":1}}`})
	otherLayers := artifact(t, reg, "app", "other-layers", "h")
	reg.Push(t, "app", cosign.SignatureTag(otherLayers).TagStr(), configMediaType,
		ocitest.Layer{MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json", Data: []byte(`{}`)})

	tests := []struct {
		name string
		keys map[string][]byte
		d    name.Digest
		err  []string
	}{
		{"signed with the trusted key", cosigntest.Secret(trusted), signed, nil},
		{"signed with the second key of the secret", cosigntest.Secret(other, trusted), signed, nil},
		{"one of two signatures is trusted", cosigntest.Secret(trusted), both, nil},
		{"payload annotations and a Rekor bundle", cosigntest.Secret(trusted), annotated, nil},
		{"unsigned", cosigntest.Secret(trusted), unsigned,
			[]string{"no signature found for '" + unsigned.String() + "'", "no tag '" + cosign.SignatureTag(unsigned).TagStr() + "'"}},
		{"signed with another key", cosigntest.Secret(trusted), wrongKey,
			[]string{"no signature of '" + wrongKey.String() + "' verifies with the public keys cosign.pub", "not signed with any of these keys"}},
		{"a trusted signature of another artifact", cosigntest.Secret(trusted), replayed,
			[]string{"signs '" + signed.DigestStr() + "', another artifact"}},
		{"a signature that does not match its payload", cosigntest.Secret(trusted), tampered, []string{"not signed with any of these keys"}},
		{"a payload without signature", cosigntest.Secret(trusted), noAnnotation, []string{"has no '" + cosign.SignatureAnnotation + "' annotation"}},
		{"a signature tag without cosign payloads", cosigntest.Secret(trusted), otherLayers, []string{"holds no cosign signature"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			err := cosign.Verify(context.Background(), client, oci.IsNotFound, keys(t, tt.keys), tt.d)
			if tt.err == nil {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(HaveOccurred())
			for _, text := range tt.err {
				g.Expect(err.Error()).To(ContainSubstring(text))
			}
		})
	}
}

func TestKeysFromSecret(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	rsaPEM, err := cryptoutils.MarshalPublicKeyToPEM(rsaKey.Public())
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	ec := cosigntest.NewKey(t)

	tests := []struct {
		name  string
		data  map[string][]byte
		names []string
		err   string
	}{
		{"only .pub entries are keys", map[string][]byte{"cosign.pub": ec.PublicPEM, "cosign.key": []byte("private"), "README": []byte("x")}, []string{"cosign.pub"}, ""},
		{"RSA keys too", map[string][]byte{"b.pub": rsaPEM, "a.pub": ec.PublicPEM}, []string{"a.pub", "b.pub"}, ""},
		{"no key", map[string][]byte{"cosign.key": []byte("private")}, nil, "no entry ending in '.pub'"},
		{"not PEM", map[string][]byte{"cosign.pub": []byte("ssh-ed25519 AAAA")}, nil, "entry 'cosign.pub' is not a PEM public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			k, err := cosign.KeysFromSecret(tt.data)
			if tt.err != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.err)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(k.Names()).To(Equal(tt.names))
		})
	}
}
