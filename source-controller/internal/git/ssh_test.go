package git

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/gitkit"
	"github.com/fluxcd/pkg/gittestserver"
	. "github.com/onsi/gomega"
)

func TestSSH(t *testing.T) {
	t.Parallel()
	identity, authorized := newSSHIdentity(t, "")
	encrypted, encAuthorized := newSSHIdentity(t, "key-passphrase")
	stranger, _ := newSSHIdentity(t, "")

	srv, err := gittestserver.NewTempGitServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(srv.Root()) })
	keyDir := t.TempDir()
	srv.KeyDir(keyDir).Auth("unused", "unused")
	// Only the two known client keys may log in; the lookup is a package
	// global of gittestserver, read when the server starts listening.
	srv.PublicKeyLookupFunc(func(content string) (*gitkit.PublicKey, error) {
		if content == strings.TrimSpace(authorized) || content == strings.TrimSpace(encAuthorized) {
			return &gitkit.PublicKey{Id: "test"}, nil
		}
		return nil, os.ErrPermission
	})
	if err := srv.ListenSSH(); err != nil {
		t.Fatal(err)
	}
	go srv.StartSSH() //nolint:errcheck // returns when stopped
	t.Cleanup(func() { srv.StopSSH() })
	hash, err := newServerRepo(srv, "repo.git")
	if err != nil {
		t.Fatal(err)
	}
	url := srv.SSHAddress() + "/repo.git"
	hostKey, err := os.ReadFile(filepath.Join(keyDir, "gitkit.rsa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(srv.SSHAddress(), "ssh://git@")
	knownHosts := []byte(knownHostsName(host) + " " + string(hostKey))
	_, otherHostKey := newSSHIdentity(t, "")

	secret := func(id []byte, kh []byte, extra ...string) map[string][]byte {
		d := map[string][]byte{"identity": id, "known_hosts": kh}
		for i := 0; i+1 < len(extra); i += 2 {
			d[extra[i]] = []byte(extra[i+1])
		}
		return d
	}
	t.Run("known host key", func(t *testing.T) {
		t.Parallel()
		auth, err := AuthFromSecret(url, secret(identity, knownHosts))
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		expectFetch(t, url, auth, hash)
	})
	t.Run("encrypted identity with its passphrase", func(t *testing.T) {
		t.Parallel()
		auth, err := AuthFromSecret(url, secret(encrypted, knownHosts, "password", "key-passphrase"))
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		expectFetch(t, url, auth, hash)
	})
	t.Run("wrong host key of the same type", func(t *testing.T) {
		t.Parallel()
		auth, err := AuthFromSecret(url, secret(identity, []byte(knownHostsName(host)+" "+newRSAPublicKey(t))))
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		expectFailure(t, url, auth, KindUnknownHostKey, "does not match known_hosts")
	})
	t.Run("wrong host key of another type", func(t *testing.T) {
		t.Parallel()
		auth, err := AuthFromSecret(url, secret(identity, []byte(knownHostsName(host)+" "+otherHostKey)))
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		expectFailure(t, url, auth, KindUnknownHostKey, "does not match known_hosts")
	})
	t.Run("host missing from known_hosts", func(t *testing.T) {
		t.Parallel()
		auth, err := AuthFromSecret(url, secret(identity, []byte("github.com "+string(hostKey))))
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		expectFailure(t, url, auth, KindUnknownHostKey, "is not in known_hosts")
	})
	t.Run("key the server does not accept", func(t *testing.T) {
		t.Parallel()
		auth, err := AuthFromSecret(url, secret(stranger, knownHosts))
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		expectFailure(t, url, auth, KindAuthFailed, "check the credentials in spec.secretRef")
	})
}

// TestSSHServerThatNeverAnswers checks that the context bounds an SSH
// operation even when the server accepts the connection and then stays
// silent, which go-git alone would wait on forever.
func TestSSHServerThatNeverAnswers(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	identity, _ := newSSHIdentity(t, "")
	url := "ssh://git@" + l.Addr().String() + "/repo.git"
	auth, err := AuthFromSecret(url, map[string][]byte{
		"identity": identity, "known_hosts": []byte(knownHostsName(l.Addr().String()) + " " + newRSAPublicKey(t)),
	})
	g.Expect(err).NotTo(HaveOccurred())

	for _, op := range []func(context.Context) error{
		func(ctx context.Context) error { _, err := ResolveRemote(ctx, url, auth, Reference{}); return err },
		func(ctx context.Context) error {
			_, err := Clone(ctx, t.TempDir(), CloneOptions{URL: url, Auth: auth})
			return err
		},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		start := time.Now()
		err := op(ctx)
		cancel()
		g.Expect(time.Since(start)).To(BeNumerically("<", 5*time.Second))
		g.Expect(KindOf(err)).To(Equal(KindUnreachable), "%v", err)
		g.Expect(err.Error()).To(ContainSubstring("did not answer in time"))
	}
}
