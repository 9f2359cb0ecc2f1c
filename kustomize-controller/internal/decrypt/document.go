package decrypt

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	"github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/cmd/sops/formats"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/keyservice"
	"github.com/getsops/sops/v3/pgp"
	"github.com/getsops/sops/v3/stores/dotenv"
	"github.com/getsops/sops/v3/stores/ini"
	sopsjson "github.com/getsops/sops/v3/stores/json"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
	"sigs.k8s.io/yaml"
)

// store returns the sops store that reads and writes a format, configured
// as the sops CLI is by default, so decrypted files match what
// "sops decrypt" prints.
func store(f formats.Format) sops.Store {
	switch f {
	case formats.Yaml:
		return sopsyaml.NewStore(&config.YAMLStoreConfig{})
	case formats.Json:
		return sopsjson.NewStore(&config.JSONStoreConfig{Indent: -1})
	case formats.Dotenv:
		return dotenv.NewStore(&config.DotenvStoreConfig{})
	case formats.Ini:
		return ini.NewStore(&config.INIStoreConfig{})
	default:
		return sopsjson.NewBinaryStore(&config.JSONBinaryStoreConfig{Indent: -1})
	}
}

// markers are strings every sops-encrypted document of a format contains;
// content without them is plain and is not parsed at all.
var markers = map[formats.Format][]string{
	formats.Yaml:   {"sops", "mac"},
	formats.Json:   {`"sops"`, `"mac"`},
	formats.Binary: {`"sops"`, `"mac"`},
	formats.Dotenv: {"sops_mac="},
	formats.Ini:    {"[sops]", "mac"},
}

// isEncrypted reports whether data carries sops metadata in format f: for
// YAML and JSON a top-level "sops" mapping with a "mac", for dotenv a
// sops_mac line, for INI a [sops] section. Plain files that merely mention
// sops (a .sops.yaml, a note) are not encrypted.
func isEncrypted(data []byte, f formats.Format) bool {
	for _, m := range markers[f] {
		if !bytes.Contains(data, []byte(m)) {
			return false
		}
	}
	switch f {
	case formats.Dotenv:
		return hasLine(data, func(l string) bool { return strings.HasPrefix(l, "sops_mac=") })
	case formats.Ini:
		return hasLine(data, func(l string) bool { return strings.TrimSpace(l) == "[sops]" })
	default:
		var doc struct {
			Sops map[string]any `json:"sops"`
		}
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return false
		}
		_, ok := doc.Sops["mac"]
		return ok
	}
}

func hasLine(data []byte, match func(string) bool) bool {
	for _, l := range strings.Split(string(data), "\n") {
		if match(strings.TrimSuffix(l, "\r")) {
			return true
		}
	}
	return false
}

// load parses data as a sops document of format f. It returns ok=false for
// content that is not sops-encrypted, which callers pass through.
func load(data []byte, f formats.Format) (tree sops.Tree, ok bool, err error) {
	if !isEncrypted(data, f) {
		return sops.Tree{}, false, nil
	}
	tree, err = store(f).LoadEncryptedFile(data)
	if err != nil {
		return sops.Tree{}, false, fmt.Errorf("not a valid SOPS %s document: %w", formatName(f), err)
	}
	return tree, true, nil
}

// decryptTree decrypts a loaded document in place and emits it as plain
// content of format f.
//
// verifyMAC checks the document's message authentication code, which
// covers every value, encrypted or not. Files are checked. Secrets taken
// from the build output cannot be: kustomize legitimately changes their
// plain values (namespace, labels) and the map order the MAC depends on.
// Each encrypted value stays authenticated on its own by AES-GCM, with its
// position in the document as additional data, so a tampered or moved
// value still fails.
func (d *Decryptor) decryptTree(tree *sops.Tree, f formats.Format, verifyMAC bool) ([]byte, error) {
	key, err := tree.Metadata.GetDataKeyWithKeyServices([]keyservice.KeyServiceClient{d.keyService()}, nil)
	if err != nil {
		return nil, d.noKeyError(tree.Metadata)
	}
	cipher := aes.NewCipher()
	mac, err := tree.Decrypt(key, cipher)
	if err != nil {
		return nil, fmt.Errorf("cannot decrypt its values: %w", err)
	}
	if verifyMAC {
		want, err := cipher.Decrypt(tree.Metadata.MessageAuthenticationCode, key, tree.Metadata.LastModified.Format(time.RFC3339))
		if err != nil {
			return nil, fmt.Errorf("cannot decrypt its message authentication code: %w", err)
		}
		if want != mac {
			return nil, errors.New("its message authentication code does not match: the file was changed after it was encrypted")
		}
	}
	out, err := store(f).EmitPlainFile(tree.Branches)
	if err != nil {
		return nil, errors.New("cannot encode the decrypted content")
	}
	return out, nil
}

// noKeyError explains a failed data key recovery with the public side of
// the keys involved, so a user can tell which key is missing.
func (d *Decryptor) noKeyError(m sops.Metadata) error {
	var want []string
	for _, group := range m.KeyGroups {
		for _, k := range group {
			switch k := k.(type) {
			case *age.MasterKey:
				want = append(want, "age recipient "+k.Recipient)
			case *pgp.MasterKey:
				want = append(want, "OpenPGP key "+k.Fingerprint)
			default:
				want = append(want, k.TypeToIdentifier()+" key "+k.ToString())
			}
		}
	}
	msg := "no key of the decryption Secret can decrypt it: it is encrypted for " + strings.Join(want, ", ")
	if have := d.keyService().describe(); len(have) > 0 {
		return errors.New(msg + "; the decryption Secret holds " + strings.Join(have, ", "))
	}
	return errors.New(msg + "; the decryption Secret holds no age (*.agekey) or OpenPGP (*.asc) key")
}

func formatName(f formats.Format) string {
	switch f {
	case formats.Yaml:
		return "YAML"
	case formats.Json:
		return "JSON"
	case formats.Dotenv:
		return "dotenv"
	case formats.Ini:
		return "INI"
	default:
		return "binary"
	}
}
