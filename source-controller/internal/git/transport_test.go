package git

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/fluxcd/gitkit"
	"github.com/fluxcd/pkg/gittestserver"
	. "github.com/onsi/gomega"
)

// expectFetch clones and resolves url's master branch with auth and checks
// both reach want.
func expectFetch(t *testing.T, url string, auth *Auth, want string) {
	t.Helper()
	g := NewWithT(t)
	ctx := testContext(t)
	r, err := ResolveRemote(ctx, url, auth, Reference{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(r.Hash).To(Equal(want))
	c, err := Clone(ctx, t.TempDir(), CloneOptions{URL: url, Auth: auth})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c.Revision()).To(Equal("master@sha1:" + want))
}

// expectFailure checks that both operations fail with kind, and that no
// secret appears in the message.
func expectFailure(t *testing.T, url string, auth *Auth, kind Kind, msg string, secrets ...string) {
	t.Helper()
	g := NewWithT(t)
	ctx := testContext(t)
	_, resolveErr := ResolveRemote(ctx, url, auth, Reference{})
	_, cloneErr := Clone(ctx, t.TempDir(), CloneOptions{URL: url, Auth: auth})
	for _, err := range []error{resolveErr, cloneErr} {
		g.Expect(err).To(HaveOccurred())
		t.Log(err)
		g.Expect(KindOf(err)).To(Equal(kind), err.Error())
		g.Expect(err.Error()).To(ContainSubstring(msg))
		for _, s := range secrets {
			g.Expect(err.Error()).NotTo(ContainSubstring(s))
		}
	}
}

func TestBasicAuth(t *testing.T) {
	t.Parallel()
	srv, err := gittestserver.NewTempGitServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(srv.Root()) })
	srv.Auth("ferry", "s3cr3t-passw0rd")
	if err := srv.StartHTTP(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.StopHTTP)
	hash, err := newServerRepo(srv, "private.git")
	if err != nil {
		t.Fatal(err)
	}
	url := srv.HTTPAddress() + "/private.git"

	t.Run("right credentials", func(t *testing.T) {
		t.Parallel()
		auth, err := AuthFromSecret(url, map[string][]byte{"username": []byte("ferry"), "password": []byte("s3cr3t-passw0rd")})
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		expectFetch(t, url, auth, hash)
	})
	t.Run("wrong password", func(t *testing.T) {
		t.Parallel()
		auth, err := AuthFromSecret(url, map[string][]byte{"username": []byte("ferry"), "password": []byte("wr0ng-passw0rd")})
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		expectFailure(t, url, auth, KindAuthFailed, "check the credentials in spec.secretRef", "wr0ng-passw0rd", "s3cr3t")
	})
	t.Run("no credentials", func(t *testing.T) {
		t.Parallel()
		expectFailure(t, url, nil, KindAuthFailed, "authentication to '"+url+"' failed")
	})
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	srv := startHTTPServer(t)
	srv.AddHTTPMiddlewares(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer t0ken-value" {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	if err := srv.StartHTTP(); err != nil { // restart with the middleware
		t.Fatal(err)
	}
	hash, err := newServerRepo(srv, "repo.git")
	if err != nil {
		t.Fatal(err)
	}
	url := srv.HTTPAddress() + "/repo.git"
	good, _ := AuthFromSecret(url, map[string][]byte{"bearerToken": []byte("t0ken-value")})
	expectFetch(t, url, good, hash)
	bad, _ := AuthFromSecret(url, map[string][]byte{"bearerToken": []byte("wr0ng-t0ken")})
	expectFailure(t, url, bad, KindAuthFailed, "check the credentials", "wr0ng-t0ken")
}

func TestHTTPSWithCustomCA(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	cert, key := ca.issue(t, true)
	srv, err := gittestserver.NewTempGitServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(srv.Root()) })
	if err := srv.StartHTTPS(cert, key, ca.pem, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.StopHTTP)
	hash, err := newServerRepo(srv, "repo.git")
	if err != nil {
		t.Fatal(err)
	}
	url := srv.HTTPAddress() + "/repo.git"
	NewWithT(t).Expect(url).To(HavePrefix("https://"))

	t.Run("trusted through ca.crt", func(t *testing.T) {
		t.Parallel()
		auth, err := AuthFromSecret(url, map[string][]byte{"ca.crt": ca.pem})
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		expectFetch(t, url, auth, hash)
	})
	t.Run("untrusted without it", func(t *testing.T) {
		t.Parallel()
		expectFailure(t, url, nil, KindTLS, "TLS handshake with")
	})
}

func TestHTTPSClientCertificate(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	serverCert, serverKey := ca.issue(t, true)
	pair, err := tls.X509KeyPair(serverCert, serverKey)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	service := gitkit.New(gitkit.Config{Dir: root})
	if err := service.Setup(); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.pem)
	ts := httptest.NewUnstartedServer(service)
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	hash, err := newServerRepo(gittestserver.NewGitServer(root), "repo.git")
	if err != nil {
		t.Fatal(err)
	}
	url := ts.URL + "/repo.git"

	clientCert, clientKey := ca.issue(t, false)
	auth, err := AuthFromSecret(url, map[string][]byte{"ca.crt": ca.pem, "tls.crt": clientCert, "tls.key": clientKey})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	expectFetch(t, url, auth, hash)

	noCert, _ := AuthFromSecret(url, map[string][]byte{"ca.crt": ca.pem})
	expectFailure(t, url, noCert, KindTLS, "tls.crt")
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	expectFailure(t, "http://"+addr+"/repo.git", nil, KindUnreachable, "remote 'http://"+addr+"/repo.git' is unreachable")
}
