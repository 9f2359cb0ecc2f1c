package ui

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// CheckAddr refuses a listen address that is not on loopback unless
// allowRemote is set: the UI acts with the user's own credentials, so
// anyone who can reach the port can act as that user.
func CheckAddr(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", addr, err)
	}
	if allowRemote || isLoopback(host) {
		return nil
	}
	return fmt.Errorf("--addr %q is not a loopback address: the UI acts with your credentials, so it listens on 127.0.0.1 unless --allow-remote says otherwise", addr)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

const (
	sessionCookie = "ferry_session"
	csrfField     = "csrf"
)

// guard protects actions against cross-site requests: a session cookie
// (SameSite=Strict, HttpOnly) names the browser's session, every form
// carries a token that is an HMAC of that session under a key born with
// the process, and a POST must bring the token and come from the UI's own
// origin. On loopback it also refuses a Host header that is not loopback,
// so a DNS-rebinding page cannot read the UI either.
type guard struct {
	key         []byte
	allowRemote bool
}

func newGuard(allowRemote bool) *guard {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(err)
	}
	return &guard{key: key, allowRemote: allowRemote}
}

// session returns the request's session id, starting a session (and
// setting its cookie) when the browser has none.
func (g *guard) session(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(sessionCookie); err == nil && len(c.Value) == 64 {
		return c.Value
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	id := hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return id
}

// token is the CSRF token of a session.
func (g *guard) token(session string) string {
	m := hmac.New(sha256.New, g.key)
	m.Write([]byte(session))
	return hex.EncodeToString(m.Sum(nil))
}

// checkHost refuses requests addressed to a name that is not loopback when
// the UI serves on loopback.
func (g *guard) checkHost(r *http.Request) error {
	if g.allowRemote {
		return nil
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	if !isLoopback(strings.Trim(host, "[]")) {
		return fmt.Errorf("host %q is not loopback", r.Host)
	}
	return nil
}

// checkPost verifies a state-changing request: same origin, and the token
// of the session the cookie names.
func (g *guard) checkPost(r *http.Request) error {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return fmt.Errorf("request from origin %q refused: actions are accepted only from this UI's own pages", o)
		}
	} else if ref := r.Header.Get("Referer"); ref != "" {
		u, err := url.Parse(ref)
		if err != nil || u.Host != r.Host {
			return fmt.Errorf("request from %q refused: actions are accepted only from this UI's own pages", ref)
		}
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return fmt.Errorf("no session: reload the page and try again")
	}
	got := r.PostFormValue(csrfField)
	if got == "" {
		got = r.Header.Get("X-CSRF-Token")
	}
	if !hmac.Equal([]byte(got), []byte(g.token(c.Value))) {
		return fmt.Errorf("missing or wrong CSRF token: reload the page and try again")
	}
	return nil
}
