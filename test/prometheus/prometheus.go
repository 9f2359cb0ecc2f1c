// Package prometheus runs a real Prometheus server for analysis tests: the
// binary built by hack/prometheus.sh (its path in FERRY_PROMETHEUS, which
// `make test` exports), scraping every second a loopback /metrics endpoint
// whose error rate the test sets. Analysis is judged on what a real server
// answers to a real PromQL query (vector and scalar results, staleness,
// query errors), not on a stand-in that answers what the test expects.
//
// The endpoint serves one gauge, ErrorRate, with the label service="web"
// (ErrorRateQuery selects it); SetErrorRate changes it and returns only once
// Prometheus has scraped the new value, so a test's next measurement sees
// it.
package prometheus

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

const (
	// ErrorRate is the gauge the metrics endpoint serves.
	ErrorRate = "ferry_test_error_rate"
	// Service is the value of the gauge's service label.
	Service = "web"
	// ErrorRateQuery selects the gauge: an instant vector of one sample.
	ErrorRateQuery = ErrorRate + `{service="` + Service + `"}`
	// Healthy and Failing are error rates on either side of the 5%
	// threshold of Argo Rollouts' examples.
	Healthy = 0.01
	Failing = 0.31
)

// startTimeout bounds the server's start and every wait for a scrape; on
// the shared machine Prometheus is ready in a few seconds.
const startTimeout = 60 * time.Second

// Server is a running Prometheus and the endpoint it scrapes.
type Server struct {
	// URL is Prometheus' address, the provider.prometheus.address of a
	// metric ("http://127.0.0.1:PORT").
	URL string
	// Target is the URL of the scraped metrics endpoint.
	Target string

	rate    atomic.Uint64 // math.Float64bits of the served error rate
	cmd     *exec.Cmd
	done    chan struct{}
	logPath string
}

// Start runs Prometheus for the test, serving rate as the error rate from
// the start, and stops it when the test ends. It fails the test (it does
// not skip it) when FERRY_PROMETHEUS is unset: a test that needs a real
// server must not pass without one.
func Start(t testing.TB, rate float64) *Server {
	t.Helper()
	bin := os.Getenv("FERRY_PROMETHEUS")
	if bin == "" {
		t.Fatal("FERRY_PROMETHEUS is not set: build the server with hack/prometheus.sh and export its path")
	}
	s := &Server{done: make(chan struct{})}
	s.rate.Store(math.Float64bits(rate))

	target := httptest.NewServer(http.HandlerFunc(s.serveMetrics))
	t.Cleanup(target.Close)
	s.Target = target.URL + "/metrics"

	dir := t.TempDir()
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(config(strings.TrimPrefix(target.URL, "http://"))), 0o600); err != nil {
		t.Fatal(err)
	}
	s.logPath = filepath.Join(dir, "prometheus.log")
	logFile, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(bin,
		"--config.file="+cfg,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		_ = logFile.Close()
		t.Fatalf("start prometheus: %v", err)
	}
	go func() {
		_ = s.cmd.Wait()
		_ = logFile.Close()
		close(s.done)
	}()
	t.Cleanup(s.stop)
	s.URL = "http://" + addr

	if err := s.waitReady(); err != nil {
		t.Fatalf("%v\n%s", err, s.Log())
	}
	if err := s.waitValue(rate); err != nil {
		t.Fatalf("%v\n%s", err, s.Log())
	}
	return s
}

// config scrapes target every second. The evaluation interval does not
// matter (there are no rules) but is kept as short.
func config(target string) string {
	return fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
- job_name: ferry-test
  static_configs:
  - targets: [%q]
`, target)
}

// SetErrorRate serves rate from now on and waits until a query of
// ErrorRateQuery returns it.
func (s *Server) SetErrorRate(t testing.TB, rate float64) {
	t.Helper()
	s.rate.Store(math.Float64bits(rate))
	if err := s.waitValue(rate); err != nil {
		t.Fatalf("%v\n%s", err, s.Log())
	}
}

// Query runs an instant query and returns the sample values of the vector
// it answers.
func (s *Server) Query(ctx context.Context, query string) ([]float64, error) {
	u := s.URL + "/api/v1/query?" + url.Values{"query": {query}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("query %q: %w", query, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", query, body.Error)
	}
	if body.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: result type %s, want vector", query, body.Data.ResultType)
	}
	out := make([]float64, 0, len(body.Data.Result))
	for _, r := range body.Data.Result {
		text, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: sample %v: %w", query, r.Value[1], err)
		}
		out = append(out, v)
	}
	return out, nil
}

// Log returns what Prometheus wrote to its log, for a failing test.
func (s *Server) Log() string {
	data, _ := os.ReadFile(s.logPath)
	return string(data)
}

func (s *Server) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	rate := math.Float64frombits(s.rate.Load())
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "# HELP %s Share of requests that failed.\n# TYPE %s gauge\n%s{service=%q} %s\n",
		ErrorRate, ErrorRate, ErrorRate, Service, strconv.FormatFloat(rate, 'g', -1, 64))
}

// waitReady polls Prometheus' readiness endpoint.
func (s *Server) waitReady() error {
	return poll(func(ctx context.Context) error {
		select {
		case <-s.done:
			return errStopped
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/-/ready", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("prometheus not ready: %s", resp.Status)
		}
		return nil
	})
}

// waitValue polls until ErrorRateQuery returns rate: Prometheus scraped
// the endpoint since the rate was set.
func (s *Server) waitValue(rate float64) error {
	return poll(func(ctx context.Context) error {
		got, err := s.Query(ctx, ErrorRateQuery)
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0] != rate {
			return fmt.Errorf("%s is %v, want [%v]", ErrorRateQuery, got, rate)
		}
		return nil
	})
}

var errStopped = fmt.Errorf("prometheus exited")

// poll calls f every 100ms until it succeeds, the server exits or
// startTimeout passes, and returns f's last error then.
func poll(f func(context.Context) error) error {
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, startTimeout, true,
		func(ctx context.Context) (bool, error) {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			last = f(ctx)
			if last == errStopped {
				return false, last
			}
			return last == nil, nil
		})
	if err != nil {
		if last == nil {
			last = err
		}
		return fmt.Errorf("waiting for prometheus: %w", last)
	}
	return nil
}

// stop ends the server and waits for it.
func (s *Server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
