package oci

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// DockerConfigKey is the Secret key of a kubernetes.io/dockerconfigjson
// Secret.
const DockerConfigKey = ".dockerconfigjson"

// Keychain holds registry credentials from a Secret: per registry host from
// a docker config JSON, or one username and password for every host.
type Keychain struct {
	hosts map[string]authn.AuthConfig
	all   *authn.AuthConfig
}

var _ authn.Keychain = (*Keychain)(nil)

// KeychainFromSecret reads credentials from a Secret's data: the
// .dockerconfigjson key, or username and password keys.
func KeychainFromSecret(data map[string][]byte) (*Keychain, error) {
	if cfg, ok := data[DockerConfigKey]; ok {
		return KeychainFromDockerConfig(cfg)
	}
	user, pass := string(data["username"]), string(data["password"])
	if user == "" || pass == "" {
		return nil, fmt.Errorf("secret has neither '%s' nor 'username' and 'password'", DockerConfigKey)
	}
	return &Keychain{all: &authn.AuthConfig{Username: user, Password: pass}}, nil
}

// KeychainFromDockerConfig parses a docker config JSON ({"auths": {...}}).
func KeychainFromDockerConfig(data []byte) (*Keychain, error) {
	var cfg struct {
		Auths map[string]authn.AuthConfig `json:"auths"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("invalid docker config JSON in '%s': %w", DockerConfigKey, err)
	}
	k := &Keychain{hosts: map[string]authn.AuthConfig{}}
	for host, auth := range cfg.Auths {
		k.hosts[normalizeHost(host)] = auth
	}
	return k, nil
}

// normalizeHost reduces "https://host:port/v1/" to "host:port".
func normalizeHost(h string) string {
	if strings.Contains(h, "://") {
		if u, err := url.Parse(h); err == nil {
			return u.Host
		}
	}
	h, _, _ = strings.Cut(h, "/")
	return h
}

// Resolve returns the credentials for the registry of target.
func (k *Keychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	if k.all != nil {
		return authn.FromConfig(*k.all), nil
	}
	if auth, ok := k.hosts[target.RegistryStr()]; ok {
		return authn.FromConfig(auth), nil
	}
	return authn.Anonymous, nil
}
