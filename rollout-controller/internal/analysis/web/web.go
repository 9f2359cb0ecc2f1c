// Package web measures a metric by an HTTP request whose JSON response is
// read with a JSON path, as Argo Rollouts' web provider does: the path is
// a Kubernetes JSONPath template (k8s.io/client-go/util/jsonpath, the
// syntax of `kubectl -o jsonpath` and of Argo Rollouts' jsonPath field,
// "{$.data.ok}"), one match is the result itself (a float64, bool, string,
// object or list as encoding/json decodes it) and several are a list.
package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"k8s.io/client-go/util/jsonpath"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
)

// DefaultTimeout bounds a request without timeoutSeconds, as Argo Rollouts
// does.
const DefaultTimeout = 10 * time.Second

// maxBody caps the response read: a metric is a small JSON document, and
// an endpoint that streams without end must not exhaust the controller.
const maxBody = 10 << 20

// Get sends m's request with client (http.DefaultClient when nil) and
// returns the selected value as text (JSON, or the string itself) and the
// result the metric's conditions are evaluated over. A failed request, a
// status outside 2xx, a body that is not JSON and a path that matches
// nothing are errors that say so.
func Get(ctx context.Context, client *http.Client, m *v1alpha1.WebMetric) (string, any, error) {
	if client == nil {
		client = http.DefaultClient
	}
	path := m.JSONPath
	if path == "" {
		path = "{$}"
	}
	parser := jsonpath.New("metric")
	if err := parser.Parse(path); err != nil {
		return "", nil, fmt.Errorf("jsonPath %q: %w", path, err)
	}
	timeout := DefaultTimeout
	if m.TimeoutSeconds > 0 {
		timeout = time.Duration(m.TimeoutSeconds) * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	method := m.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if m.Body != "" && method != http.MethodGet {
		body = strings.NewReader(m.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, m.URL, body)
	if err != nil {
		return "", nil, fmt.Errorf("web metric request: %w", err)
	}
	for _, h := range m.Headers {
		req.Header.Set(h.Key, h.Value)
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", nil, fmt.Errorf("web metric request failed: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return "", nil, fmt.Errorf("web metric response: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return "", nil, fmt.Errorf("received non 2xx response code: %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return "", nil, fmt.Errorf("could not parse JSON body: %w", err)
	}
	return Select(parser, doc)
}

// Select applies a parsed JSON path to a decoded document.
func Select(parser *jsonpath.JSONPath, doc any) (string, any, error) {
	matches, err := parser.FindResults(doc)
	if err != nil {
		return "", nil, fmt.Errorf("could not find JSONPath in body: %w", err)
	}
	var results []any
	for _, group := range matches {
		for _, v := range group {
			if v.IsValid() && v.CanInterface() {
				results = append(results, v.Interface())
			}
		}
	}
	var result any
	switch len(results) {
	case 0:
		return "", nil, fmt.Errorf("could not find JSONPath in body: no match")
	case 1:
		result = results[0]
	default:
		result = results
	}
	if s, ok := result.(string); ok {
		return s, result, nil
	}
	text, err := json.Marshal(result)
	if err != nil {
		return "", nil, fmt.Errorf("web metric value: %w", err)
	}
	return string(text), result, nil
}
