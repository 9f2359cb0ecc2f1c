package decrypt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
	agearmor "filippo.io/age/armor"
	"github.com/ProtonMail/go-crypto/openpgp"
	pgparmor "github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/getsops/sops/v3/keyservice"
	"google.golang.org/grpc"
)

// maxDataKey bounds what an unwrapped data key may be: sops data keys are
// 32 bytes, Shamir parts barely more.
const maxDataKey = 1 << 10

// keyService unwraps sops data keys with in-memory age identities and
// OpenPGP keys. It plugs into sops as a key service client, the interface
// sops uses to reach its (possibly remote) key services.
type keyService struct {
	age []age.Identity
	pgp openpgp.EntityList
}

var _ keyservice.KeyServiceClient = (*keyService)(nil)

// Decrypt unwraps one master key's copy of the data key.
func (k *keyService) Decrypt(_ context.Context, in *keyservice.DecryptRequest, _ ...grpc.CallOption) (*keyservice.DecryptResponse, error) {
	var (
		plain []byte
		err   error
	)
	switch {
	case in.GetKey().GetAgeKey() != nil:
		plain, err = k.decryptAge(in.GetCiphertext())
	case in.GetKey().GetPgpKey() != nil:
		plain, err = k.decryptPGP(in.GetCiphertext())
	default:
		err = errors.New("only age and OpenPGP keys are supported")
	}
	if err != nil {
		return nil, err
	}
	return &keyservice.DecryptResponse{Plaintext: plain}, nil
}

// Encrypt is not offered: the controller only decrypts.
func (k *keyService) Encrypt(context.Context, *keyservice.EncryptRequest, ...grpc.CallOption) (*keyservice.EncryptResponse, error) {
	return nil, errors.New("encryption is not supported")
}

func (k *keyService) decryptAge(ciphertext []byte) ([]byte, error) {
	if len(k.age) == 0 {
		return nil, fmt.Errorf("the decryption Secret holds no age identity (*%s)", AgeKeySuffix)
	}
	var src io.Reader = bytes.NewReader(ciphertext)
	if bytes.HasPrefix(bytes.TrimSpace(ciphertext), []byte(agearmor.Header)) {
		src = agearmor.NewReader(bytes.NewReader(bytes.TrimSpace(ciphertext)))
	}
	r, err := age.Decrypt(src, k.age...)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return nil, errors.New("no age identity of the decryption Secret matches")
		}
		return nil, fmt.Errorf("age: %w", err)
	}
	return io.ReadAll(io.LimitReader(r, maxDataKey))
}

func (k *keyService) decryptPGP(ciphertext []byte) ([]byte, error) {
	if len(k.pgp) == 0 {
		return nil, fmt.Errorf("the decryption Secret holds no OpenPGP key (*%s)", PGPKeySuffix)
	}
	var src io.Reader = bytes.NewReader(ciphertext)
	if block, err := pgparmor.Decode(bytes.NewReader(ciphertext)); err == nil {
		src = block.Body
	}
	md, err := openpgp.ReadMessage(src, k.pgp, nil, nil)
	if err != nil {
		if errors.Is(err, pgperrors.ErrKeyIncorrect) {
			return nil, errors.New("no OpenPGP key of the decryption Secret matches")
		}
		return nil, fmt.Errorf("OpenPGP: %w", err)
	}
	// Reading to the end also checks the message's integrity.
	return io.ReadAll(io.LimitReader(md.UnverifiedBody, maxDataKey))
}

// describe lists the public side of the keys, for error messages.
func (k *keyService) describe() []string {
	var out []string
	for _, id := range k.age {
		if x, ok := id.(*age.X25519Identity); ok {
			out = append(out, "age recipient "+x.Recipient().String())
		} else {
			out = append(out, "an age identity")
		}
	}
	for _, e := range k.pgp {
		out = append(out, fmt.Sprintf("OpenPGP key %X", e.PrimaryKey.Fingerprint))
	}
	return out
}
