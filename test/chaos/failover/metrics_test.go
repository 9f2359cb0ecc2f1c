package failover

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// sample is one line of a Prometheus text exposition.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// metrics are the samples a process exposes.
type metrics []sample

// scrape reads the samples at addr's /metrics.
func scrape(addr string) (metrics, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	var out metrics
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if s, ok := parseSample(sc.Text()); ok {
			out = append(out, s)
		}
	}
	return out, sc.Err()
}

// parseSample parses `name{k="v",...} value`; label values with commas or
// quotes inside do not occur in the metrics read here.
func parseSample(line string) (sample, bool) {
	if line == "" || strings.HasPrefix(line, "#") {
		return sample{}, false
	}
	sp := strings.LastIndex(line, " ")
	if sp < 0 {
		return sample{}, false
	}
	v, err := strconv.ParseFloat(line[sp+1:], 64)
	if err != nil {
		return sample{}, false
	}
	s := sample{name: line[:sp], labels: map[string]string{}, value: v}
	if i := strings.Index(s.name, "{"); i >= 0 {
		for _, kv := range strings.Split(strings.TrimSuffix(s.name[i+1:], "}"), ",") {
			if k, val, ok := strings.Cut(kv, "="); ok {
				s.labels[k] = strings.Trim(val, `"`)
			}
		}
		s.name = s.name[:i]
	}
	return s, true
}

// sum adds up the samples of name whose labels match (all when match is
// nil); a metric not exposed at all sums to 0.
func (m metrics) sum(name string, match func(map[string]string) bool) float64 {
	total := 0.0
	for _, s := range m {
		if s.name == name && (match == nil || match(s.labels)) {
			total += s.value
		}
	}
	return total
}

// objects are the namespace/name label pairs of the samples of name.
func (m metrics) objects(name string) map[string]bool {
	out := map[string]bool{}
	for _, s := range m {
		if s.name == name {
			out[s.labels["namespace"]+"/"+s.labels["name"]] = true
		}
	}
	return out
}
