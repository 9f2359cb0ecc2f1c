package decrypt

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/getsops/sops/v3/cmd/sops/formats"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Objects decrypts the SOPS-encrypted Secrets among objs with d, which is
// nil when the Kustomization has no spec.decryption. It is
// d.DecryptObjects for callers that hold a possibly nil Decryptor.
func Objects(d *Decryptor, objs []*unstructured.Unstructured) error {
	return d.DecryptObjects(objs)
}

// DecryptObjects decrypts, in place, every Kubernetes Secret of the build
// output that is SOPS-encrypted: a Secret with a top-level "sops" field,
// or a Secret whose data or stringData values are whole SOPS documents (a
// secretGenerator input that reached the output still encrypted).
//
// Only Secrets are decrypted, as in Flux: decrypting other kinds would put
// secret values where RBAC does not protect them, and some custom
// resources (such as sops-secrets-operator's SopsSecret) carry a "sops"
// field meant for an in-cluster decrypter.
//
// On a nil Decryptor, an encrypted Secret is an error saying that
// spec.decryption is not set.
func (d *Decryptor) DecryptObjects(objs []*unstructured.Unstructured) error {
	for _, obj := range objs {
		if !isSecret(obj) {
			continue
		}
		var err error
		if IsEncryptedSecret(obj) {
			err = d.decryptSecret(obj)
		} else {
			err = d.decryptSecretValues(obj)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// IsEncryptedSecret reports whether obj is a Secret encrypted as a whole
// with SOPS (the sops CLI run on the manifest).
func IsEncryptedSecret(obj *unstructured.Unstructured) bool {
	if !isSecret(obj) {
		return false
	}
	_, ok := obj.Object["sops"].(map[string]any)
	return ok
}

func isSecret(obj *unstructured.Unstructured) bool {
	return obj.GetKind() == "Secret" && obj.GetAPIVersion() == "v1"
}

func secretName(obj *unstructured.Unstructured) string {
	if ns := obj.GetNamespace(); ns != "" {
		return fmt.Sprintf("Secret %s/%s", ns, obj.GetName())
	}
	return "Secret " + obj.GetName()
}

// decryptSecret decrypts a whole-manifest SOPS Secret through sops' JSON
// store; the MAC is not checked (see decryptTree).
func (d *Decryptor) decryptSecret(obj *unstructured.Unstructured) error {
	if d == nil {
		return notConfigured(secretName(obj))
	}
	data, err := json.Marshal(obj.Object)
	if err != nil {
		return fmt.Errorf("%s: %w", secretName(obj), err)
	}
	tree, ok, err := load(data, formats.Json)
	if err != nil {
		return fmt.Errorf("%s: %w", secretName(obj), err)
	}
	if !ok {
		return fmt.Errorf("%s: its sops field is not SOPS metadata", secretName(obj))
	}
	plain, err := d.decryptTree(&tree, formats.Json, false)
	if err != nil {
		return fmt.Errorf("failed to decrypt %s: %w", secretName(obj), err)
	}
	out := &unstructured.Unstructured{}
	if err := out.UnmarshalJSON(plain); err != nil {
		// The decoder's message could quote decrypted content.
		return fmt.Errorf("%s: the decrypted manifest is not a valid Secret", secretName(obj))
	}
	obj.Object = out.Object
	return nil
}

// decryptSecretValues decrypts data and stringData values that are whole
// SOPS documents, in the format the key's extension names, as the sops CLI
// would have encrypted the file. These come straight from a file, so the
// MAC is checked.
func (d *Decryptor) decryptSecretValues(obj *unstructured.Unstructured) error {
	for _, field := range []string{"data", "stringData"} {
		values, ok := obj.Object[field].(map[string]any)
		if !ok {
			continue
		}
		for key, raw := range values {
			s, ok := raw.(string)
			if !ok {
				continue
			}
			if strings.HasPrefix(s, "ENC[") && strings.Contains(s, ",data:") {
				// A value sops encrypted whose metadata did not come along,
				// as with the second document of a multi-document file.
				return fmt.Errorf("key %q of %s holds a SOPS-encrypted value, but the Secret has no sops metadata: "+
					"encrypt each Secret in a file of its own", key, secretName(obj))
			}
			content := []byte(s)
			if field == "data" {
				decoded, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					continue
				}
				content = decoded
			}
			plain, changed, err := d.decryptDocument(content, formats.FormatForPath(key))
			if err != nil {
				what := fmt.Sprintf("key %q of %s", key, secretName(obj))
				if errors.Is(err, errNotConfigured) {
					return notConfigured(what)
				}
				return fmt.Errorf("failed to decrypt %s: %w", what, err)
			}
			if !changed {
				continue
			}
			if field == "data" {
				values[key] = base64.StdEncoding.EncodeToString(plain)
			} else {
				values[key] = string(plain)
			}
		}
	}
	return nil
}
