package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxResponseBody caps how much of an answer is read, so a hostile or broken
// endpoint cannot make the controller buffer an unbounded body.
const maxResponseBody = 64 << 10

// StatusError is an HTTP answer outside 2xx.
type StatusError struct {
	// Code is the HTTP status code.
	Code int
	// Body is the start of the answer, for the log.
	Body string
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("provider answered %d %s", e.Code, http.StatusText(e.Code))
	}
	return fmt.Sprintf("provider answered %d %s: %s", e.Code, http.StatusText(e.Code), e.Body)
}

// IsRetryable says whether sending the same request again may succeed: on
// network errors, timeouts, 408, 429 and 5xx answers. A 4xx other than those
// means the request itself is wrong, and repeating it only adds load.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code == http.StatusRequestTimeout || se.Code == http.StatusTooManyRequests || se.Code >= 500
	}
	var pe *permanentError
	return !errors.As(err, &pe)
}

// permanentError marks a failure that no retry can fix, such as an event
// without the revision a commit status needs.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// permanent wraps err so IsRetryable reports false.
func permanent(format string, args ...any) error {
	return &permanentError{err: fmt.Errorf(format, args...)}
}

// newHTTPClient builds the client for one Provider: its own transport, so a
// proxy or CA of one Provider never leaks into another, and no redirects, so
// credentials are only ever sent to the configured address.
func newHTTPClient(cfg Config) *http.Client {
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       cfg.TLS,
	}
	if cfg.Proxy != nil {
		transport.Proxy = http.ProxyURL(cfg.Proxy)
	}
	return &http.Client{
		Transport: transport,
		Timeout:   cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// request is one HTTP call made by a notifier.
type request struct {
	method  string
	url     *url.URL
	body    any
	headers map[string]string
	user    string
	pass    string
	// into, when set, receives the decoded JSON answer.
	into any
}

// do sends the request with a JSON body and returns a *StatusError for an
// answer outside 2xx. Transport errors are stripped of the URL, which can
// embed a token (Telegram, Slack webhooks) or basic-auth credentials.
func do(ctx context.Context, client *http.Client, r request) error {
	var body io.Reader
	if r.body != nil {
		data, err := json.Marshal(r.body)
		if err != nil {
			return permanent("encoding the payload: %w", err)
		}
		body = bytes.NewReader(data)
	}
	return doRaw(ctx, client, r, body)
}

// doRaw is do with a body that is already encoded.
func doRaw(ctx context.Context, client *http.Client, r request, body io.Reader) error {
	method := r.method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, r.url.String(), body)
	if err != nil {
		return permanent("building the request: invalid address")
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "ferry-notification-controller")
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	if r.user != "" || r.pass != "" {
		req.SetBasicAuth(r.user, r.pass)
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s request failed: %w", method, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &StatusError{Code: resp.StatusCode, Body: snippet(data)}
	}
	if r.into != nil && len(data) > 0 {
		if err := json.Unmarshal(data, r.into); err != nil {
			return fmt.Errorf("decoding the answer: %w", err)
		}
	}
	return nil
}

// snippet returns the start of a response body on one line, for logs.
func snippet(data []byte) string {
	const max = 256
	s := strings.Join(strings.Fields(string(data)), " ")
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}
