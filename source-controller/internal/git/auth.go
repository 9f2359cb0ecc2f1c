package git

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"golang.org/x/crypto/ssh"
)

// Secret keys understood by AuthFromSecret; the names are Flux's, so
// existing Secrets keep working.
const (
	KeyUsername    = "username"
	KeyPassword    = "password"
	KeyBearerToken = "bearerToken"
	KeyCACert      = "ca.crt"
	KeyCAFile      = "caFile" // older spelling of ca.crt, read when ca.crt is absent
	KeyTLSCert     = "tls.crt"
	KeyTLSKey      = "tls.key"
	KeyIdentity    = "identity"
	KeyKnownHosts  = "known_hosts"
)

// Auth is everything needed to talk to one remote: HTTP credentials and TLS
// material, or an SSH key with the host keys to trust. Its fields are
// unexported so that credentials cannot leak through %v or a log line; a nil
// *Auth means anonymous HTTP(S).
type Auth struct {
	scheme   string
	basic    *githttp.BasicAuth
	bearer   *githttp.TokenAuth
	caBundle []byte
	certPEM  []byte
	keyPEM   []byte
	ssh      *sshAuth
	secrets  redactor
}

// AuthFromSecret validates the data of a GitRepository's Secret for repoURL
// and builds its Auth. Validation happens here, before any network traffic,
// so that a broken Secret is reported as such (KindInvalid, naming the key)
// rather than as a confusing transport error. data may be nil when no
// Secret is referenced. No error message quotes a credential.
func AuthFromSecret(repoURL string, data map[string][]byte) (*Auth, error) {
	u, err := parseRepoURL(repoURL)
	if err != nil {
		return nil, err
	}
	a := &Auth{scheme: u.Scheme}
	for _, k := range []string{KeyPassword, KeyBearerToken} {
		if v := strings.TrimSpace(string(data[k])); v != "" {
			a.secrets = append(a.secrets, string(data[k]), v)
		}
	}
	if a.scheme == "ssh" {
		if a.ssh, err = sshAuthFromSecret(u, data); err != nil {
			return nil, err
		}
		return a, nil
	}
	if err := a.fillHTTP(data); err != nil {
		return nil, err
	}
	return a, nil
}

// fillHTTP reads the HTTP(S) keys. TLS keys are read for https:// only,
// since on plain http they could not take effect.
func (a *Auth) fillHTTP(data map[string][]byte) error {
	user, pass, token := string(data[KeyUsername]), string(data[KeyPassword]), string(data[KeyBearerToken])
	switch {
	case pass != "" && user == "":
		return newError(KindInvalid, nil, "secret key '%s' is set without '%s'", KeyPassword, KeyUsername)
	case token != "" && user != "":
		return newError(KindInvalid, nil,
			"secret has both '%s' and '%s': keep one of basic and bearer token authentication", KeyUsername, KeyBearerToken)
	case user != "":
		a.basic = &githttp.BasicAuth{Username: user, Password: pass}
	case token != "":
		a.bearer = &githttp.TokenAuth{Token: token}
	}
	if a.scheme != "https" {
		return nil
	}
	ca := data[KeyCACert]
	if len(ca) == 0 {
		ca = data[KeyCAFile]
	}
	if len(ca) > 0 {
		if !x509.NewCertPool().AppendCertsFromPEM(ca) {
			return newError(KindInvalid, nil, "secret key '%s' holds no PEM-encoded certificate", KeyCACert)
		}
		a.caBundle = ca
	}
	cert, key := data[KeyTLSCert], data[KeyTLSKey]
	switch {
	case len(cert) > 0 && len(key) == 0:
		return newError(KindInvalid, nil, "secret key '%s' is set without '%s'", KeyTLSCert, KeyTLSKey)
	case len(key) > 0 && len(cert) == 0:
		return newError(KindInvalid, nil, "secret key '%s' is set without '%s'", KeyTLSKey, KeyTLSCert)
	case len(cert) > 0:
		if _, err := tls.X509KeyPair(cert, key); err != nil {
			return newError(KindInvalid, nil,
				"secret keys '%s' and '%s' do not form a valid PEM certificate and private key pair", KeyTLSCert, KeyTLSKey)
		}
		a.certPEM, a.keyPEM = cert, key
	}
	return nil
}

// String describes the kind of credentials without revealing them. It has
// a value receiver so that printing a copy of an Auth is just as safe.
func (a Auth) String() string {
	switch {
	case a.ssh != nil:
		return "ssh public key (user " + a.ssh.user + ")"
	case a.basic != nil:
		return "http basic auth"
	case a.bearer != nil:
		return "http bearer token"
	}
	return "anonymous"
}

// GoString keeps %#v as safe as %v.
func (a Auth) GoString() string { return "git.Auth(" + a.String() + ")" }

// method returns the go-git transport credentials for a call to hostport.
// The SSH method is copied per call so it can carry the context's deadline
// (go-git dials SSH without a context) and the host's key algorithms.
func (a *Auth) method(ctx context.Context, hostport string) transport.AuthMethod {
	switch {
	case a == nil:
		return nil
	case a.ssh != nil:
		m := *a.ssh
		m.hostport = hostport
		if d, ok := ctx.Deadline(); ok {
			m.timeout = max(time.Until(d), time.Millisecond)
		}
		return &m
	case a.basic != nil:
		return a.basic
	case a.bearer != nil:
		return a.bearer
	}
	return nil
}

func (a *Auth) redactor() redactor {
	if a == nil {
		return nil
	}
	return a.secrets
}

func (a *Auth) tlsMaterial() (ca, cert, key []byte) {
	if a == nil {
		return nil, nil, nil
	}
	return a.caBundle, a.certPEM, a.keyPEM
}

// parseRepoURL accepts the URL forms of the GitRepository API: http, https
// and ssh URLs with a host. A password inside the URL is refused, since the
// URL is shown in status and events; it belongs in the Secret.
func parseRepoURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, newError(KindInvalid, nil,
			"url is not valid: use an http://, https:// or ssh:// URL (the scp-like user@host:path form is not supported)")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ssh" {
		return nil, newError(KindInvalid, nil,
			"url scheme '%s' is not supported: use http://, https:// or ssh:// (not the scp-like user@host:path)", u.Scheme)
	}
	if u.Host == "" {
		return nil, newError(KindInvalid, nil, "url '%s' has no host", u.Redacted())
	}
	if _, hasPass := u.User.Password(); hasPass {
		return nil, newError(KindInvalid, nil,
			"url '%s' embeds a password: move the credentials to spec.secretRef", u.Redacted())
	}
	return u, nil
}

// hostPort returns u's host with the scheme's default port filled in.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := map[string]string{"ssh": "22", "http": "80", "https": "443"}[u.Scheme]
	return net.JoinHostPort(u.Hostname(), port)
}

// sshAuth is a go-git SSH AuthMethod with Ferry's rules: public key only,
// host keys checked against the Secret's known_hosts and nothing else (never
// ~/.ssh/known_hosts, never an insecure callback).
type sshAuth struct {
	user     string
	signer   ssh.Signer
	hosts    *knownHosts
	hostport string
	timeout  time.Duration
}

func sshAuthFromSecret(u *url.URL, data map[string][]byte) (*sshAuth, error) {
	var missing []string
	for _, k := range []string{KeyIdentity, KeyKnownHosts} {
		if len(data[k]) == 0 {
			missing = append(missing, "'"+k+"'")
		}
	}
	if len(missing) > 0 {
		return nil, newError(KindInvalid, nil,
			"secret is missing %s, which ssh:// URLs require: set them in spec.secretRef", strings.Join(missing, " and "))
	}
	hosts, err := parseKnownHosts(data[KeyKnownHosts])
	if err != nil {
		return nil, newError(KindInvalid, nil, "secret key '%s' could not be parsed: %s", KeyKnownHosts, err)
	}
	signer, err := parseIdentity(data[KeyIdentity], data[KeyPassword])
	if err != nil {
		return nil, err
	}
	user := u.User.Username()
	if user == "" {
		user = string(data[KeyUsername])
	}
	if user == "" {
		user = "git"
	}
	return &sshAuth{user: user, signer: signer, hosts: hosts}, nil
}

// parseIdentity reads the private key, decrypting it with password when it
// is encrypted. Parser messages are not quoted: they might echo key bytes.
func parseIdentity(identity, password []byte) (ssh.Signer, error) {
	signer, err := ssh.ParsePrivateKey(identity)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if len(password) == 0 {
			return nil, newError(KindInvalid, nil,
				"secret key '%s' is encrypted: add its passphrase under '%s'", KeyIdentity, KeyPassword)
		}
		signer, err = ssh.ParsePrivateKeyWithPassphrase(identity, password)
		if err != nil {
			return nil, newError(KindInvalid, nil,
				"secret key '%s' could not be decrypted with '%s'", KeyIdentity, KeyPassword)
		}
	}
	if err != nil {
		return nil, newError(KindInvalid, nil, "secret key '%s' is not a valid PEM or OpenSSH private key", KeyIdentity)
	}
	return signer, nil
}

func (a *sshAuth) Name() string   { return "ssh-public-keys" }
func (a *sshAuth) String() string { return "user: " + a.user + ", name: " + a.Name() }

// ClientConfig offers only the algorithms of the host keys we hold for the
// host, so a server with several host keys presents one we can check.
func (a *sshAuth) ClientConfig() (*ssh.ClientConfig, error) {
	return &ssh.ClientConfig{
		User:              a.user,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(a.signer)},
		HostKeyCallback:   a.hosts.check,
		HostKeyAlgorithms: a.hosts.algorithms(a.hostport),
		Timeout:           a.timeout,
	}, nil
}
