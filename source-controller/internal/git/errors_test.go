package git

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"syscall"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	. "github.com/onsi/gomega"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	const u = "https://example.com/repo.git"
	red := redactor{"s3cret-token"}
	tests := []struct {
		name string
		err  error
		kind Kind
		msg  string
	}{
		{"http 401", fmt.Errorf("%w: Unauthorized", transport.ErrAuthenticationRequired), KindAuthFailed,
			"authentication to '" + u + "' failed: authentication required: Unauthorized: check the credentials in spec.secretRef"},
		{"http 403 inside an UnexpectedError", plumbing.NewUnexpectedError(fmt.Errorf("%w: Forbidden", transport.ErrAuthorizationFailed)), KindAuthFailed, "check the credentials"},
		{"ssh auth", errors.New("ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey]"), KindAuthFailed, "check the credentials"},
		{"not found", transport.ErrRepositoryNotFound, KindRepositoryNotFound, "repository '" + u + "' not found"},
		{"empty repo", transport.ErrEmptyRemoteRepository, KindRefNotFound, "branch 'main' not found in remote: the repository is empty"},
		{"missing ref", fmt.Errorf("resolve: %w", plumbing.ErrReferenceNotFound), KindRefNotFound, "branch 'main' not found in remote"},
		{"unknown CA", &url.Error{Op: "Get", URL: u, Err: x509.UnknownAuthorityError{}}, KindTLS, "TLS handshake with"},
		{"connection refused", &url.Error{Op: "Get", URL: u, Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, KindUnreachable, "is unreachable"},
		{"dns", &net.DNSError{Err: "no such host", Name: "example.com", IsNotFound: true}, KindUnreachable, "no such host"},
		{"timeout", fmt.Errorf("fetch: %w", context.DeadlineExceeded), KindUnreachable, "did not answer in time"},
		{"other", errors.New("object not found in pack"), KindOther, "git operation on '" + u + "' failed: object not found in pack"},
		{"already classified", newError(KindUnknownHostKey, nil, "host key mismatch"), KindUnknownHostKey, "host key mismatch"},
		{"classified deep inside", plumbing.NewUnexpectedError(fmt.Errorf("ssh: handshake failed: %w", newError(KindUnknownHostKey, nil, "bad key"))), KindUnknownHostKey, "bad key"},
		{"secret in cause", fmt.Errorf("%w: token s3cret-token rejected", transport.ErrAuthorizationFailed), KindAuthFailed, "token ***** rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			err := classify(tt.err, u, "branch 'main'", red)
			g.Expect(KindOf(err)).To(Equal(tt.kind))
			g.Expect(err.Error()).To(ContainSubstring(tt.msg))
			g.Expect(err.Error()).NotTo(ContainSubstring("s3cret-token"))
			g.Expect(errors.Is(err, &Error{Kind: tt.kind})).To(BeTrue())
		})
	}
	NewWithT(t).Expect(classify(nil, u, "", nil)).To(Succeed())
}

func TestErrorMatching(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	cause := transport.ErrAuthenticationRequired
	err := fmt.Errorf("checkout: %w", newError(KindAuthFailed, cause, "authentication failed"))
	g.Expect(errors.Is(err, ErrAuthFailed)).To(BeTrue())
	g.Expect(errors.Is(err, ErrRefNotFound)).To(BeFalse())
	g.Expect(errors.Is(err, cause)).To(BeTrue(), "the cause stays reachable")
	var e *Error
	g.Expect(errors.As(err, &e)).To(BeTrue())
	g.Expect(e.Kind).To(Equal(KindAuthFailed))
	g.Expect(KindOf(nil)).To(BeEmpty())
	g.Expect(KindOf(errors.New("plain"))).To(Equal(KindOther))
	g.Expect(ErrTLS.Error()).To(Equal("git: TLSHandshakeFailed"))
}

func TestRedactor(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	g.Expect(redactor{"hunter22", "abc"}.apply("pass hunter22 and abc")).To(Equal("pass ***** and abc"),
		"values shorter than 4 characters are left alone, or every message would be mangled")
}
