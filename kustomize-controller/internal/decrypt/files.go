package decrypt

import (
	"errors"
	"fmt"

	"github.com/getsops/sops/v3/cmd/sops/formats"

	"github.com/ferrycd/ferry/pkg/kustomize"
)

var _ kustomize.Decryptor = (*Decryptor)(nil)

// DecryptGeneratorFile decrypts a secretGenerator input before kustomize
// reads it, as Flux does: "envs" files as dotenv, "files" entries in the
// format their key's extension names (.yaml/.yml, .json, .env, .ini, else
// binary), as the sops CLI picks it. Plain content comes back unchanged.
// It makes *Decryptor a kustomize.Decryptor.
func (d *Decryptor) DecryptGeneratorFile(f kustomize.GeneratorFile, data []byte) ([]byte, error) {
	format := formats.FormatForPath(f.Key)
	if f.Env {
		format = formats.Dotenv
	}
	return d.decryptFile(f.Path, data, format)
}

// DecryptFile decrypts a SOPS-encrypted file in the format its name's
// extension says, verifying its MAC. Plain content comes back unchanged; on
// a nil Decryptor, encrypted content is an error.
func (d *Decryptor) DecryptFile(name string, data []byte) ([]byte, error) {
	return d.decryptFile(name, data, formats.FormatForPath(name))
}

func (d *Decryptor) decryptFile(name string, data []byte, f formats.Format) ([]byte, error) {
	plain, changed, err := d.decryptDocument(data, f)
	if err != nil {
		if errors.Is(err, errNotConfigured) {
			return nil, notConfigured(name)
		}
		return nil, fmt.Errorf("failed to decrypt %s: %w", name, err)
	}
	if !changed {
		return data, nil
	}
	return plain, nil
}

// decryptDocument decrypts data when it is a SOPS document of format f,
// verifying its MAC, and reports whether it was. A nil Decryptor returns
// an error for encrypted content, which callers turn into notConfigured.
func (d *Decryptor) decryptDocument(data []byte, f formats.Format) ([]byte, bool, error) {
	tree, ok, err := load(data, f)
	if err != nil || !ok {
		return nil, false, err
	}
	if d == nil {
		return nil, false, errNotConfigured
	}
	plain, err := d.decryptTree(&tree, f, true)
	if err != nil {
		return nil, false, err
	}
	return plain, true, nil
}
