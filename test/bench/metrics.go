package main

import (
	"bufio"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// reconcileDurations scrapes a controller's gotk_reconcile_duration_seconds
// sums per object of kind, keyed by namespace/name.
func reconcileDurations(metricsAddr, kind string) (map[string]float64, error) {
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "gotk_reconcile_duration_seconds_sum{") || !strings.Contains(line, `kind="`+kind+`"`) {
			continue
		}
		labels := line[strings.Index(line, "{")+1 : strings.Index(line, "}")]
		var name, ns string
		for _, kv := range strings.Split(labels, ",") {
			k, v, _ := strings.Cut(kv, "=")
			v = strings.Trim(v, `"`)
			switch k {
			case "name":
				name = v
			case "namespace":
				ns = v
			}
		}
		val, err := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64)
		if err != nil {
			return nil, err
		}
		out[ns+"/"+name] = val
	}
	return out, sc.Err()
}

// counter reads a plain counter's value from a controller's metrics.
func counter(metricsAddr, name string) (float64, error) {
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, sc.Err()
}

// percentiles returns p50 and p95 of ds.
func percentiles(ds []time.Duration) (time.Duration, time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(p float64) time.Duration { return ds[int(p*float64(len(ds)-1))] }
	return at(0.50), at(0.95)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// sumCounter adds up every series of a counter in a controller's metrics.
func sumCounter(metricsAddr, name string) (float64, error) {
	return sumSeries(metricsAddr, name, "")
}

// sumSeries adds up the series of metric name in a controller's metrics
// whose labels contain match (`controller="helmchart"`; "" for all).
func sumSeries(metricsAddr, name, match string) (float64, error) {
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var total float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		labels, ok := strings.CutPrefix(line, name+"{")
		switch {
		case ok && strings.Contains(labels[:max(strings.Index(labels, "}"), 0)], match):
		case match == "" && strings.HasPrefix(line, name+" "): // a series without labels
		default:
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64)
		if err != nil {
			return 0, err
		}
		total += v
	}
	return total, sc.Err()
}

// queueFigures says where a controller's objects of one kind spent their
// time: the mean wait in the work queue before a worker took them, the mean
// reconcile, the reconciles run, and the client-side rate limiter's total
// wait over every request the process made (zero when the API server's
// priority and fairness replaced client-side throttling).
func queueFigures(metricsAddr, controller string) (string, error) {
	match := `controller="` + controller + `"`
	var v [5]float64
	for i, name := range []string{
		"workqueue_queue_duration_seconds_sum", "workqueue_queue_duration_seconds_count",
		"controller_runtime_reconcile_time_seconds_sum", "controller_runtime_reconcile_time_seconds_count",
	} {
		var err error
		if v[i], err = sumSeries(metricsAddr, name, match); err != nil {
			return "", err
		}
	}
	var err error
	if v[4], err = sumSeries(metricsAddr, "rest_client_rate_limiter_duration_seconds_sum", ""); err != nil {
		return "", err
	}
	mean := func(sum, n float64) string {
		if n == 0 {
			return "-"
		}
		return ms(time.Duration(sum / n * float64(time.Second)))
	}
	return fmt.Sprintf("queue wait mean %s; reconcile mean %s; %.0f reconciles; client-side throttling %.1fs in all",
		mean(v[0], v[1]), mean(v[2], v[3]), v[3], v[4]), nil
}
