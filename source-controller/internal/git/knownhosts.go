package git

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"golang.org/x/crypto/ssh"
)

// knownHosts is a parsed known_hosts file, used to check SSH host keys.
//
// We parse it here rather than use golang.org/x/crypto/ssh/knownhosts
// because that package only reads files, and the Secret's bytes should not
// have to be written to disk for every fetch. The supported syntax is what
// Git hosts hand out and ssh-keyscan prints: plain, wildcard (* and ?),
// negated (!) and hashed (|1|salt|hash) host patterns, [host]:port for
// non-default ports, and the @revoked marker. @cert-authority lines are
// ignored: Ferry does not accept host certificates.
type knownHosts struct {
	entries []knownHostEntry
}

type knownHostEntry struct {
	revoked  bool
	patterns []string
	key      ssh.PublicKey
}

// parseKnownHosts parses data line by line so that an error can name the
// line; host keys are public, so quoting the parser's reason is safe.
func parseKnownHosts(data []byte) (*knownHosts, error) {
	kh := &knownHosts{}
	for i, line := range bytes.Split(data, []byte("\n")) {
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) == 0 || trimmed[0] == '#' {
			continue
		}
		marker, hosts, key, _, _, err := ssh.ParseKnownHosts(trimmed)
		if errors.Is(err, io.EOF) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		if marker == "cert-authority" {
			continue
		}
		kh.entries = append(kh.entries, knownHostEntry{revoked: marker == "revoked", patterns: hosts, key: key})
	}
	if len(kh.entries) == 0 {
		return nil, errors.New("no host keys found")
	}
	return kh, nil
}

// check is an ssh.HostKeyCallback. It accepts key only when a line for the
// host holds exactly that key and no @revoked line does.
func (kh *knownHosts) check(hostname string, _ net.Addr, key ssh.PublicKey) error {
	entry := knownHostsName(hostname)
	fingerprint := ssh.FingerprintSHA256(key)
	var known bool
	for _, e := range kh.entries {
		if !e.matches(entry) {
			continue
		}
		same := bytes.Equal(e.key.Marshal(), key.Marshal())
		if e.revoked {
			if same {
				return newError(KindUnknownHostKey, nil,
					"host key %s of '%s' is marked @revoked in known_hosts", fingerprint, entry)
			}
			continue
		}
		if same {
			known = true
		}
	}
	if known {
		return nil
	}
	if len(kh.algorithms(hostname)) > 0 {
		return newError(KindUnknownHostKey, nil,
			"host key of '%s' (%s %s) does not match known_hosts: update known_hosts in spec.secretRef",
			entry, key.Type(), fingerprint)
	}
	return newError(KindUnknownHostKey, nil,
		"host '%s' is not in known_hosts: add its host key (%s %s, check it out of band) to known_hosts in spec.secretRef",
		entry, key.Type(), fingerprint)
}

// algorithms lists the host key algorithms to offer for hostname, so the
// server presents a key we can check instead of one we know nothing about.
func (kh *knownHosts) algorithms(hostname string) []string {
	entry := knownHostsName(hostname)
	var out []string
	seen := map[string]bool{}
	for _, e := range kh.entries {
		if e.revoked || !e.matches(entry) {
			continue
		}
		algos := []string{e.key.Type()}
		if e.key.Type() == ssh.KeyAlgoRSA {
			algos = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
		}
		for _, a := range algos {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// knownHostsName turns "host:port" into the form known_hosts uses: the bare
// host for port 22, "[host]:port" otherwise.
func knownHostsName(hostport string) string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return strings.ToLower(hostport)
	}
	host = strings.ToLower(host)
	if port == "" || port == "22" {
		return host
	}
	return "[" + host + "]:" + port
}

func (e knownHostEntry) matches(name string) bool {
	var matched bool
	for _, p := range e.patterns {
		negated := strings.HasPrefix(p, "!")
		if negated {
			p = p[1:]
		}
		if !patternMatches(p, name) {
			continue
		}
		if negated {
			return false
		}
		matched = true
	}
	return matched
}

func patternMatches(pattern, name string) bool {
	if strings.HasPrefix(pattern, "|1|") {
		return hashedMatches(pattern, name)
	}
	return globMatches(strings.ToLower(pattern), name)
}

// hashedMatches checks a HashKnownHosts entry: |1|base64(salt)|base64(hmac).
func hashedMatches(pattern, name string) bool {
	parts := strings.Split(pattern, "|")
	if len(parts) != 4 {
		return false
	}
	salt, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil {
		return false
	}
	want, err := base64.StdEncoding.DecodeString(parts[3])
	if err != nil {
		return false
	}
	mac := hmac.New(sha1.New, salt)
	mac.Write([]byte(name))
	return hmac.Equal(mac.Sum(nil), want)
}

// globMatches implements the ssh_config wildcards: * for any run of
// characters, ? for exactly one. Brackets are literal, as in "[host]:2222".
func globMatches(pattern, name string) bool {
	if pattern == "" {
		return name == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(name); i++ {
			if globMatches(pattern[1:], name[i:]) {
				return true
			}
		}
		return false
	case '?':
		return name != "" && globMatches(pattern[1:], name[1:])
	default:
		return name != "" && pattern[0] == name[0] && globMatches(pattern[1:], name[1:])
	}
}
