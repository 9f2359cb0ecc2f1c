package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	"github.com/ferrycd/ferry/rollout-controller/internal/analysis/condition"
)

// TestGet: the request is sent as the metric says (method, headers, body)
// and the JSON path picks the value the conditions see, typed as JSON
// decodes it.
func TestGet(t *testing.T) {
	g := NewWithT(t)
	var gotMethod, gotAuth, gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotMethod, gotAuth = r.Method, r.Header.Get("Authorization")
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data": {"ok": true, "rate": 0.97, "name": "web", "pods": [{"ready": 1}, {"ready": 0}]}}`)
	}))
	defer srv.Close()

	for _, tc := range []struct {
		path, cond, value string
	}{
		{"{$.data.rate}", "result > 0.9", "0.97"},
		{"{$.data.ok}", "result == true", "true"},
		{"{$.data.name}", `result == "web"`, "web"},
		{"{$.data.pods[*].ready}", "len(result) == 2 && result[0] == 1", "[1,0]"},
		{"", "result.data.ok", `{"data":{"name":"web","ok":true,"pods":[{"ready":1},{"ready":0}],"rate":0.97}}`},
	} {
		value, result, err := Get(context.Background(), nil, &v1alpha1.WebMetric{URL: srv.URL, JSONPath: tc.path})
		g.Expect(err).NotTo(HaveOccurred(), tc.path)
		g.Expect(value).To(Equal(tc.value), tc.path)
		phase, err := condition.Assess(tc.cond, "", result)
		g.Expect(err).NotTo(HaveOccurred(), tc.path)
		g.Expect(phase).To(Equal(v1alpha1.AnalysisPhaseSuccessful), tc.path)
	}
	g.Expect(gotMethod).To(Equal(http.MethodGet))

	_, _, err := Get(context.Background(), nil, &v1alpha1.WebMetric{
		URL: srv.URL, Method: http.MethodPost, Body: `{"q": "errors"}`, JSONPath: "{$.data.ok}",
		Headers: []v1alpha1.WebMetricHeader{{Key: "Authorization", Value: "Bearer t0ken"}},
	})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(gotMethod).To(Equal(http.MethodPost))
	g.Expect(gotAuth).To(Equal("Bearer t0ken"))
	g.Expect(gotBody).To(Equal(`{"q": "errors"}`))
}

// TestGetErrors: a status outside 2xx, a body that is not JSON, a path
// that matches nothing and a server that answers too late are errors that
// name the cause.
func TestGetErrors(t *testing.T) {
	g := NewWithT(t)
	block := make(chan struct{})
	defer close(block)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/down":
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
		case "/text":
			_, _ = io.WriteString(w, "not json")
		case "/slow":
			select {
			case <-block:
			case <-r.Context().Done():
			}
		default:
			_, _ = io.WriteString(w, `{"a": 1}`)
		}
	}))
	defer srv.Close()

	for _, tc := range []struct {
		metric v1alpha1.WebMetric
		want   string
	}{
		{v1alpha1.WebMetric{URL: srv.URL + "/down"}, "received non 2xx response code: 503 Service Unavailable"},
		{v1alpha1.WebMetric{URL: srv.URL + "/text"}, "could not parse JSON body"},
		{v1alpha1.WebMetric{URL: srv.URL + "/", JSONPath: "{$.b}"}, "could not find JSONPath in body"},
		{v1alpha1.WebMetric{URL: srv.URL + "/", JSONPath: "{$.a"}, "jsonPath"},
		{v1alpha1.WebMetric{URL: srv.URL + "/slow", TimeoutSeconds: 1}, "web metric request failed"},
	} {
		_, _, err := Get(context.Background(), nil, &tc.metric)
		g.Expect(err).To(HaveOccurred(), tc.metric.URL)
		g.Expect(strings.Contains(err.Error(), tc.want)).To(BeTrue(), "%s: %v", tc.metric.URL, err)
	}
}
