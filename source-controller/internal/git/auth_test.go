package git

import (
	"context"
	"fmt"
	"strings"
	"testing"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	. "github.com/onsi/gomega"
)

const sshURL = "ssh://git@example.com/org/repo.git"

func TestAuthFromSecretValid(t *testing.T) {
	t.Parallel()
	identity, _ := newSSHIdentity(t, "")
	encrypted, _ := newSSHIdentity(t, "passphrase-1")
	ca := newTestCA(t)
	cert, key := ca.issue(t, false)
	knownHosts := []byte("example.com " + newRSAPublicKey(t))

	tests := []struct {
		name string
		url  string
		data map[string][]byte
		want string // Auth.String()
	}{
		{"no secret", "https://example.com/repo.git", nil, "anonymous"},
		{"basic auth", "https://example.com/repo.git", map[string][]byte{"username": []byte("u"), "password": []byte("p")}, "http basic auth"},
		{"username only (token as user)", "https://example.com/repo.git", map[string][]byte{"username": []byte("tok")}, "http basic auth"},
		{"bearer token", "https://example.com/repo.git", map[string][]byte{"bearerToken": []byte("tok")}, "http bearer token"},
		{"ca.crt and client certificate", "https://example.com/repo.git", map[string][]byte{"ca.crt": ca.pem, "tls.crt": cert, "tls.key": key}, "anonymous"},
		{"caFile spelling", "https://example.com/repo.git", map[string][]byte{"caFile": ca.pem}, "anonymous"},
		{"TLS keys ignored for http", "http://example.com/repo.git", map[string][]byte{"tls.crt": cert}, "anonymous"},
		{"ssh", sshURL, map[string][]byte{"identity": identity, "known_hosts": knownHosts}, "ssh public key (user git)"},
		{"ssh user from secret", "ssh://example.com/repo.git", map[string][]byte{"identity": identity, "known_hosts": knownHosts, "username": []byte("deploy")}, "ssh public key (user deploy)"},
		{"ssh with encrypted identity", sshURL, map[string][]byte{"identity": encrypted, "known_hosts": knownHosts, "password": []byte("passphrase-1")}, "ssh public key (user git)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			auth, err := AuthFromSecret(tt.url, tt.data)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(auth.String()).To(Equal(tt.want))
		})
	}
}

func TestAuthFromSecretInvalid(t *testing.T) {
	t.Parallel()
	identity, _ := newSSHIdentity(t, "")
	encrypted, _ := newSSHIdentity(t, "passphrase-1")
	ca := newTestCA(t)
	cert, key := ca.issue(t, false)
	_, otherKey := ca.issue(t, false)
	knownHosts := []byte("example.com " + newRSAPublicKey(t))
	const https = "https://example.com/repo.git"
	const password = "hunter2-very-secret"

	tests := []struct {
		name string
		url  string
		data map[string][]byte
		msg  string
	}{
		{"ssh without secret", sshURL, nil, "secret is missing 'identity' and 'known_hosts', which ssh:// URLs require"},
		{"ssh without identity", sshURL, map[string][]byte{"known_hosts": knownHosts, "password": []byte(password)}, "secret is missing 'identity'"},
		{"ssh without known_hosts", sshURL, map[string][]byte{"identity": identity}, "secret is missing 'known_hosts'"},
		{"known_hosts does not parse", sshURL, map[string][]byte{"identity": identity, "known_hosts": []byte("example.com ssh-rsa !!!notbase64")}, "secret key 'known_hosts' could not be parsed: line 1"},
		{"known_hosts without keys", sshURL, map[string][]byte{"identity": identity, "known_hosts": []byte("# nothing\n")}, "no host keys found"},
		{"identity is garbage", sshURL, map[string][]byte{"identity": []byte(password), "known_hosts": knownHosts}, "secret key 'identity' is not a valid PEM or OpenSSH private key"},
		{"encrypted identity without password", sshURL, map[string][]byte{"identity": encrypted, "known_hosts": knownHosts}, "add its passphrase under 'password'"},
		{"encrypted identity, wrong password", sshURL, map[string][]byte{"identity": encrypted, "known_hosts": knownHosts, "password": []byte(password)}, "could not be decrypted with 'password'"},
		{"tls.crt without tls.key", https, map[string][]byte{"tls.crt": cert}, "secret key 'tls.crt' is set without 'tls.key'"},
		{"tls.key without tls.crt", https, map[string][]byte{"tls.key": key}, "secret key 'tls.key' is set without 'tls.crt'"},
		{"mismatched key pair", https, map[string][]byte{"tls.crt": cert, "tls.key": otherKey}, "do not form a valid PEM certificate and private key pair"},
		{"ca.crt is not PEM", https, map[string][]byte{"ca.crt": []byte(password)}, "secret key 'ca.crt' holds no PEM-encoded certificate"},
		{"password without username", https, map[string][]byte{"password": []byte(password)}, "secret key 'password' is set without 'username'"},
		{"basic and bearer", https, map[string][]byte{"username": []byte("u"), "password": []byte(password), "bearerToken": []byte(password)}, "keep one of basic and bearer"},
		{"scp-like url", "git@example.com:org/repo.git", nil, "scp-like"},
		{"unsupported scheme", "git://example.com/repo.git", nil, "url scheme 'git' is not supported"},
		{"url without host", "https:///repo.git", nil, "has no host"},
		{"password in url", "https://user:" + password + "@example.com/repo.git", nil, "embeds a password: move the credentials to spec.secretRef"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			_, err := AuthFromSecret(tt.url, tt.data)
			g.Expect(err).To(MatchError(ErrInvalid))
			g.Expect(err.Error()).To(ContainSubstring(tt.msg))
			g.Expect(err.Error()).NotTo(ContainSubstring(password), "credentials must never appear in messages")
			g.Expect(err.Error()).NotTo(ContainSubstring("PRIVATE KEY"))
		})
	}
}

// TestAuthDoesNotPrintSecrets guards against credentials leaking through a
// log line that prints the Auth or its transport method.
func TestAuthDoesNotPrintSecrets(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	identity, _ := newSSHIdentity(t, "")
	for _, c := range []struct {
		url  string
		data map[string][]byte
	}{
		{"https://example.com/r.git", map[string][]byte{"username": []byte("user"), "password": []byte("pa55word-secret")}},
		{"https://example.com/r.git", map[string][]byte{"bearerToken": []byte("pa55word-secret")}},
		{sshURL, map[string][]byte{"identity": identity, "known_hosts": []byte("example.com " + newRSAPublicKey(t))}},
	} {
		auth, err := AuthFromSecret(c.url, c.data)
		g.Expect(err).NotTo(HaveOccurred())
		m := auth.method(context.Background(), "example.com:443")
		for _, s := range []string{fmt.Sprint(auth), fmt.Sprintf("%+v", *auth), fmt.Sprintf("%#v", auth), fmt.Sprint(m)} {
			g.Expect(s).NotTo(ContainSubstring("pa55word-secret"))
			g.Expect(s).NotTo(ContainSubstring("PRIVATE KEY"))
		}
	}
}

func TestAuthMethod(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	var nilAuth *Auth
	g.Expect(nilAuth.method(context.Background(), "h:443")).To(BeNil())

	auth, err := AuthFromSecret("https://example.com/r.git", map[string][]byte{"bearerToken": []byte("tok")})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(auth.method(context.Background(), "h:443")).To(Equal(&githttp.TokenAuth{Token: "tok"}))

	identity, _ := newSSHIdentity(t, "")
	auth, err = AuthFromSecret(sshURL, map[string][]byte{"identity": identity, "known_hosts": []byte("example.com " + newRSAPublicKey(t))})
	g.Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithTimeout(context.Background(), 5e9)
	defer cancel()
	cfg, err := auth.method(ctx, "example.com:22").(*sshAuth).ClientConfig()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cfg.User).To(Equal("git"))
	g.Expect(cfg.Timeout).To(BeNumerically(">", 0), "the context deadline bounds the SSH dial")
	g.Expect(cfg.HostKeyAlgorithms).To(ContainElement("rsa-sha2-512"))
	g.Expect(strings.Join(cfg.HostKeyAlgorithms, ",")).NotTo(ContainSubstring("ed25519"))
}
