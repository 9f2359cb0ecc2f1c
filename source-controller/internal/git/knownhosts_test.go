package git

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func parseTestKey(t *testing.T, line string) ssh.PublicKey {
	t.Helper()
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKnownHostsCheck(t *testing.T) {
	t.Parallel()
	rsaLine := newRSAPublicKey(t)
	_, edLine := newSSHIdentity(t, "")
	_, otherEdLine := newSSHIdentity(t, "")
	rsaKey, edKey, otherEd := parseTestKey(t, rsaLine), parseTestKey(t, edLine), parseTestKey(t, otherEdLine)
	line := func(hosts, key string) string { return hosts + " " + strings.TrimSpace(key) + "\n" }

	tests := []struct {
		name  string
		file  string
		host  string
		key   ssh.PublicKey
		error string // "" for accepted
	}{
		{"plain host, default port", line("github.com", edLine), "github.com:22", edKey, ""},
		{"host names are case-insensitive", line("GitHub.com", edLine), "github.COM:22", edKey, ""},
		{"one of several keys", line("github.com", rsaLine) + line("github.com", edLine), "github.com:22", edKey, ""},
		{"comma-separated hosts", line("gitlab.com,github.com", edLine), "github.com:22", edKey, ""},
		{"non-default port", line("[git.example.com]:2222", edLine), "git.example.com:2222", edKey, ""},
		{"port must match", line("git.example.com", edLine), "git.example.com:2222", edKey, "is not in known_hosts"},
		{"hashed host", line(knownhosts.HashHostname("git.example.com"), edLine), "git.example.com:22", edKey, ""},
		{"hashed host with port", line(knownhosts.HashHostname("[127.0.0.1]:2222"), edLine), "127.0.0.1:2222", edKey, ""},
		{"wildcard", line("*.example.com", edLine), "git.example.com:22", edKey, ""},
		{"question mark", line("git?.example.com", edLine), "git1.example.com:22", edKey, ""},
		{"negated pattern", line("*.example.com,!evil.example.com", edLine), "evil.example.com:22", edKey, "is not in known_hosts"},
		{"comments and blank lines", "# hosts\n\n" + line("github.com", edLine), "github.com:22", edKey, ""},
		{"wrong key", line("github.com", edLine), "github.com:22", otherEd, "does not match known_hosts"},
		{"wrong key type", line("github.com", edLine), "github.com:22", rsaKey, "does not match known_hosts"},
		{"unknown host", line("gitlab.com", edLine), "github.com:22", edKey, "host 'github.com' is not in known_hosts"},
		{"revoked key", "@revoked * " + strings.TrimSpace(edLine) + "\n" + line("github.com", edLine), "github.com:22", edKey, "marked @revoked"},
		{"cert-authority lines are ignored", "@cert-authority github.com " + edLine, "github.com:22", edKey, "no host keys found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			kh, err := parseKnownHosts([]byte(tt.file))
			if err != nil {
				g.Expect(err.Error()).To(ContainSubstring(tt.error))
				return
			}
			err = kh.check(tt.host, nil, tt.key)
			if tt.error == "" {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(MatchError(ErrUnknownHostKey))
			g.Expect(err.Error()).To(ContainSubstring(tt.error))
			g.Expect(err.Error()).To(ContainSubstring(ssh.FingerprintSHA256(tt.key)))
		})
	}
}

func TestParseKnownHostsErrors(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	_, edLine := newSSHIdentity(t, "")
	_, err := parseKnownHosts([]byte("github.com " + edLine + "gitlab.com ssh-ed25519 not-base64!\n"))
	g.Expect(err).To(MatchError(ContainSubstring("line 2")))
	_, err = parseKnownHosts([]byte("   \n# only comments\n"))
	g.Expect(err).To(MatchError("no host keys found"))
}

func TestKnownHostsAlgorithms(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	_, edLine := newSSHIdentity(t, "")
	rsaLine := newRSAPublicKey(t)
	kh, err := parseKnownHosts([]byte("github.com " + edLine + "github.com " + rsaLine + "[other]:2222 " + edLine +
		"@revoked github.com " + newRSAPublicKey(t)))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(kh.algorithms("github.com:22")).To(Equal([]string{"ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"}))
	g.Expect(kh.algorithms("other:2222")).To(Equal([]string{"ssh-ed25519"}))
	g.Expect(kh.algorithms("unknown:22")).To(BeEmpty())
}

func TestKnownHostsName(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	g.Expect(knownHostsName("Example.com:22")).To(Equal("example.com"))
	g.Expect(knownHostsName("example.com:2222")).To(Equal("[example.com]:2222"))
	g.Expect(knownHostsName("[::1]:2222")).To(Equal("[::1]:2222"))
	g.Expect(knownHostsName("example.com")).To(Equal("example.com"))
}
