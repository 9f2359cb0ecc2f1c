package git

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Kind says what went wrong in terms a user can act on, so the controller
// can pick a condition reason (and decide whether retrying can help) without
// parsing messages.
type Kind string

const (
	// KindInvalid means the input cannot work as given: a malformed URL, a
	// Secret with missing or unparseable keys, a bad semver range. Fixing the
	// spec or the Secret is the only cure.
	KindInvalid Kind = "Invalid"
	// KindAuthFailed means the remote refused the credentials (HTTP 401/403,
	// SSH authentication failure).
	KindAuthFailed Kind = "AuthenticationFailed"
	// KindUnknownHostKey means the SSH server's host key is not in, or does
	// not match, the known_hosts of the Secret.
	KindUnknownHostKey Kind = "UnknownHostKey"
	// KindTLS means the HTTPS server's certificate was not trusted, or the
	// server refused the client certificate.
	KindTLS Kind = "TLSHandshakeFailed"
	// KindUnreachable means the remote could not be reached at all: DNS
	// failure, connection refused, timeout. Retrying may help.
	KindUnreachable Kind = "Unreachable"
	// KindRepositoryNotFound means the server answered but has no such
	// repository (or hides it from these credentials).
	KindRepositoryNotFound Kind = "RepositoryNotFound"
	// KindRefNotFound means the branch, tag, ref or commit does not exist in
	// the remote.
	KindRefNotFound Kind = "RefNotFound"
	// KindNoMatchingTag means no tag satisfies the semver range.
	KindNoMatchingTag Kind = "NoMatchingTag"
	// KindVerification means a signature is missing or was not made by any
	// of the trusted keys.
	KindVerification Kind = "VerificationFailed"
	// KindOther is any failure not classified above.
	KindOther Kind = "GitOperationFailed"
)

// Error is the error type of this package. Its message is complete, free of
// credentials and ends, where there is one, with what the user can do.
type Error struct {
	Kind Kind
	// Msg is the full message; empty only in the sentinel values.
	Msg string
	// Err is the underlying cause, kept for errors.Is/As. Its own message
	// may carry data the redacted Msg leaves out, so show Error() to users.
	Err error
}

// Sentinels to match with errors.Is: any *Error of the same Kind matches.
var (
	ErrInvalid            = &Error{Kind: KindInvalid}
	ErrAuthFailed         = &Error{Kind: KindAuthFailed}
	ErrUnknownHostKey     = &Error{Kind: KindUnknownHostKey}
	ErrTLS                = &Error{Kind: KindTLS}
	ErrUnreachable        = &Error{Kind: KindUnreachable}
	ErrRepositoryNotFound = &Error{Kind: KindRepositoryNotFound}
	ErrRefNotFound        = &Error{Kind: KindRefNotFound}
	ErrNoMatchingTag      = &Error{Kind: KindNoMatchingTag}
	ErrVerification       = &Error{Kind: KindVerification}
)

func (e *Error) Error() string {
	if e.Msg == "" {
		return "git: " + string(e.Kind)
	}
	return e.Msg
}

// Unwrap exposes the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is makes the sentinels match every error of their Kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Err == nil && t.Kind == e.Kind
}

// KindOf returns the Kind of err: "" for nil, KindOther for errors that did
// not come from this package.
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindOther
}

func newError(kind Kind, cause error, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...), Err: cause}
}

// classify turns an error from go-git or the network into an *Error whose
// message names the remote and suggests a fix. what describes the reference
// for not-found messages ("branch 'main'"); red strips credentials from the
// cause before it is quoted.
func classify(err error, url, what string, red redactor) error {
	if err == nil {
		return nil
	}
	var e *Error
	for _, c := range chain(err) {
		if errors.As(c, &e) {
			return e
		}
	}
	// go-git leaves a dangling ": " when the server gave no reason.
	cause := strings.TrimSuffix(strings.TrimSpace(red.apply(err.Error())), ":")
	switch {
	case anyIs(err, transport.ErrAuthenticationRequired, transport.ErrAuthorizationFailed) ||
		strings.Contains(cause, "ssh: unable to authenticate"):
		return newError(KindAuthFailed, err,
			"authentication to '%s' failed: %s: check the credentials in spec.secretRef", url, cause)
	case strings.Contains(cause, "no common algorithm for host key"):
		return newError(KindUnknownHostKey, err,
			"host key of '%s' does not match known_hosts (%s): update known_hosts in spec.secretRef", url, cause)
	case anyIs(err, transport.ErrRepositoryNotFound):
		return newError(KindRepositoryNotFound, err,
			"repository '%s' not found: check spec.url, and that the credentials in spec.secretRef can read it", url)
	case anyIs(err, transport.ErrEmptyRemoteRepository):
		return newError(KindRefNotFound, err, "%s not found in remote: the repository is empty", what)
	case anyIs(err, gogit.NoMatchingRefSpecError{}, plumbing.ErrReferenceNotFound, plumbing.ErrObjectNotFound):
		return newError(KindRefNotFound, err, "%s not found in remote", what)
	case anyIs(err, context.DeadlineExceeded):
		return newError(KindUnreachable, err, "remote '%s' did not answer in time: %s", url, cause)
	case isTLSError(err):
		return newError(KindTLS, err,
			"TLS handshake with '%s' failed: %s: check ca.crt (and tls.crt/tls.key) in spec.secretRef", url, cause)
	case isUnreachable(err):
		return newError(KindUnreachable, err, "remote '%s' is unreachable: %s", url, cause)
	}
	return newError(KindOther, err, "git operation on '%s' failed: %s", url, cause)
}

// chain lists err and every error it wraps. It also follows go-git's
// UnexpectedError and PermanentError, which hold a cause without
// implementing Unwrap, so that errors.Is/As-style checks see through them.
func chain(err error) []error {
	var out []error
	queue := []error{err}
	for len(queue) > 0 && len(out) < 64 {
		e := queue[0]
		queue = queue[1:]
		if e == nil {
			continue
		}
		out = append(out, e)
		switch t := e.(type) {
		case *plumbing.UnexpectedError:
			queue = append(queue, t.Err)
		case *plumbing.PermanentError:
			queue = append(queue, t.Err)
		case interface{ Unwrap() []error }:
			queue = append(queue, t.Unwrap()...)
		case interface{ Unwrap() error }:
			queue = append(queue, t.Unwrap())
		}
	}
	return out
}

func anyIs(err error, targets ...error) bool {
	for _, c := range chain(err) {
		for _, t := range targets {
			if errors.Is(c, t) {
				return true
			}
		}
	}
	return false
}

func isTLSError(err error) bool {
	for _, c := range chain(err) {
		// A TLS alert from the server, such as "certificate required" when
		// no client certificate was sent, arrives as a net.OpError.
		if op, ok := c.(*net.OpError); ok && op.Op == "remote error" {
			return true
		}
		switch c.(type) {
		case x509.UnknownAuthorityError, *x509.UnknownAuthorityError,
			x509.HostnameError, *x509.HostnameError,
			x509.CertificateInvalidError, *x509.CertificateInvalidError,
			*tls.CertificateVerificationError, tls.RecordHeaderError,
			tls.AlertError, *tls.AlertError:
			return true
		}
	}
	return false
}

func isUnreachable(err error) bool {
	if anyIs(err, syscall.ECONNREFUSED, syscall.EHOSTUNREACH,
		syscall.ENETUNREACH, syscall.ECONNRESET) {
		return true
	}
	for _, c := range chain(err) {
		var dnsErr *net.DNSError
		var opErr *net.OpError
		var netErr net.Error
		if errors.As(c, &dnsErr) || errors.As(c, &opErr) ||
			(errors.As(c, &netErr) && netErr.Timeout()) {
			return true
		}
	}
	return false
}

// redactor replaces secret values in text that is about to be shown to a
// user. Messages are built from our own words plus the text of causes from
// go-git and the network, which we do not control, so every cause is passed
// through here.
type redactor []string

func (r redactor) apply(s string) string {
	for _, secret := range r {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "*****")
		}
	}
	return s
}
