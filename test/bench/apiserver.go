package main

import (
	"bufio"
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// apiRequests reads the API server's own apiserver_request_total and sums
// it by "<verb> <resource>[/<subresource>]" over codes and scopes: what
// every client asked of the API server, counted where nothing can leave a
// request out.
func apiRequests(ctx context.Context, cfg *rest.Config) (map[string]float64, error) {
	return apiSeries(ctx, cfg, "apiserver_request_total")
}

// apiSeries reads the API server's metric name (a counter, or a
// histogram's _sum or _count) summed by "<verb> <resource>[/<subresource>]"
// as apiRequests does.
func apiSeries(ctx context.Context, cfg *rest.Config, name string) (map[string]float64, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	body, err := cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), name+"{")
		if !ok {
			continue
		}
		end := strings.LastIndex(line, "}")
		if end < 0 {
			continue
		}
		labels := map[string]string{}
		for _, kv := range strings.Split(line[:end], ",") {
			k, v, _ := strings.Cut(kv, "=")
			labels[k] = strings.Trim(v, `"`)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(line[end+1:]), 64)
		if err != nil {
			return nil, err
		}
		verb := strings.ToLower(labels["verb"])
		if labels["dry_run"] != "" {
			// Server-side dry-runs are counted apart from the writes.
			verb += "(dry-run)"
		}
		resource := labels["resource"]
		if resource == "" {
			// Discovery, OpenAPI documents, /version.
			resource = nonResource
		}
		key := verb + " " + resource
		if s := labels["subresource"]; s != "" {
			key += "/" + s
		}
		out[key] += v
	}
	return out, sc.Err()
}

// nonResource names the requests of no resource in apiRequests' keys.
const nonResource = "non-resource"

// perObject formats after-before per object for the resources named,
// largest first, as "verb resource: n.n".
func perObject(before, after map[string]float64, n int, resources ...string) string {
	type row struct {
		key string
		v   float64
	}
	var rows []row
	total := 0.0
	for k, v := range after {
		d := (v - before[k]) / float64(n)
		_, res, _ := strings.Cut(k, " ")
		res, _, _ = strings.Cut(res, "/")
		if d < 0.05 || !contains(resources, res) || strings.HasPrefix(k, "watch ") {
			continue
		}
		rows = append(rows, row{k, d})
		total += d
	}
	sort.Slice(rows, func(i, j int) bool {
		return rows[i].v > rows[j].v || rows[i].v == rows[j].v && rows[i].key < rows[j].key
	})
	parts := []string{fmt.Sprintf("total %.1f", total)}
	for _, r := range rows {
		parts = append(parts, fmt.Sprintf("%s %.1f", r.key, r.v))
	}
	return strings.Join(parts, "; ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// apiLatency is the API server's own mean time per request of each verb
// and resource between two readings of apiserver_request_duration_seconds
// (apiSeries of its _sum and _count), for the requests of resources that
// at least one object in twenty made: which requests the time went to.
type apiLatency struct{ sum, count map[string]float64 }

func readAPILatency(ctx context.Context, cfg *rest.Config) (apiLatency, error) {
	sum, err := apiSeries(ctx, cfg, "apiserver_request_duration_seconds_sum")
	if err != nil {
		return apiLatency{}, err
	}
	count, err := apiSeries(ctx, cfg, "apiserver_request_duration_seconds_count")
	return apiLatency{sum, count}, err
}

// since formats the mean latency by request since before, slowest in all
// first, as "verb resource: mean ms (total s)".
func (l apiLatency) since(before apiLatency, n int, resources ...string) string {
	type row struct {
		key         string
		mean, total float64
	}
	var rows []row
	for k, c := range l.count {
		dc := c - before.count[k]
		_, res, _ := strings.Cut(k, " ")
		res, _, _ = strings.Cut(res, "/")
		if dc < 0.05*float64(n) || !contains(resources, res) || strings.HasPrefix(k, "watch ") {
			continue
		}
		ds := l.sum[k] - before.sum[k]
		rows = append(rows, row{k, ds / dc, ds})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].total > rows[j].total })
	var parts []string
	for _, r := range rows {
		parts = append(parts, fmt.Sprintf("%s %.1f ms (%.1fs)", r.key, r.mean*1000, r.total))
	}
	return strings.Join(parts, "; ")
}
