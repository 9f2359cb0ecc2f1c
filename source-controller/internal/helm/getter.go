package helm

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MaxChartSize caps the size of a packaged chart download, as Flux does.
const MaxChartSize int64 = 10 << 20

// Getter downloads files from a chart repository over HTTP(S). It is written
// on net/http rather than Helm's getter so that every request honours the
// reconcile's context and a size cap, which Helm's getter has neither of.
type Getter struct {
	// Username and Password are sent as basic auth to the repository's own
	// host, and to other hosts only with PassCredentials.
	Username, Password string
	// PassCredentials sends the credentials to hosts other than the
	// repository's, for indexes whose chart URLs point elsewhere.
	PassCredentials bool
	// TLS configures server verification and client certificates; nil uses
	// the system roots.
	TLS *tls.Config
	// Timeout bounds each request; zero means no bound beyond the context.
	Timeout time.Duration

	client *http.Client
}

// StatusError is an HTTP response other than 200.
type StatusError struct {
	URL  string
	Code int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("GET %s: %d %s", e.URL, e.Code, http.StatusText(e.Code))
}

// IsUnauthorized reports whether err is a 401 or 403 response, so the caller
// can point the user at the credentials.
func IsUnauthorized(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && (se.Code == http.StatusUnauthorized || se.Code == http.StatusForbidden)
}

// IndexURL returns the index address of a repository URL.
func IndexURL(repoURL string) string {
	return strings.TrimSuffix(repoURL, "/") + "/index.yaml"
}

// ResolveChartURL turns a URL from an index entry, which may be relative,
// into an absolute one against the repository URL.
func ResolveChartURL(repoURL, chartURL string) (string, error) {
	base, err := url.Parse(strings.TrimSuffix(repoURL, "/") + "/")
	if err != nil {
		return "", fmt.Errorf("invalid repository URL: %w", err)
	}
	ref, err := url.Parse(chartURL)
	if err != nil {
		return "", fmt.Errorf("invalid chart URL '%s' in the repository index: %w", chartURL, err)
	}
	return base.ResolveReference(ref).String(), nil
}

// FetchIndex downloads the repository's index.yaml, up to MaxIndexSize.
func (g *Getter) FetchIndex(ctx context.Context, repoURL string) ([]byte, error) {
	return g.Get(ctx, repoURL, IndexURL(repoURL), MaxIndexSize)
}

// Get downloads target, at most max bytes. repoURL decides whether the
// credentials go along: only to the same scheme and host, unless
// PassCredentials.
func (g *Getter) Get(ctx context.Context, repoURL, target string, max int64) ([]byte, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("invalid URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("unsupported URL scheme '%s' in '%s'", u.Scheme, u.Redacted())
	}
	if g.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "ferry-source-controller")
	if g.Username != "" || g.Password != "" {
		if g.PassCredentials || sameOrigin(repoURL, u) {
			req.SetBasicAuth(g.Username, g.Password)
		}
	}
	resp, err := g.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &StatusError{URL: u.Redacted(), Code: resp.StatusCode}
	}
	if resp.ContentLength > max {
		return nil, fmt.Errorf("GET %s: size %d exceeds the limit of %d bytes", u.Redacted(), resp.ContentLength, max)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u.Redacted(), err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("GET %s: response exceeds the limit of %d bytes", u.Redacted(), max)
	}
	return data, nil
}

func (g *Getter) httpClient() *http.Client {
	if g.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = g.TLS
		// A Getter lives for one reconcile; kept-alive connections would
		// outlive it.
		tr.DisableKeepAlives = true
		g.client = &http.Client{Transport: tr}
	}
	return g.client
}

// sameOrigin reports whether u has the scheme and host of repoURL.
func sameOrigin(repoURL string, u *url.URL) bool {
	r, err := url.Parse(repoURL)
	return err == nil && r.Scheme == u.Scheme && r.Host == u.Host
}
