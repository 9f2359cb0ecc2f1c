package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/harness"
)

// uiNamespaces spreads the Kustomizations, so the namespace filter has
// something to choose from.
const uiNamespaces = 50

// runUI measures `ferry ui` at scale: N Kustomizations with the status a
// controller writes (one in ten failing) are created directly, no
// controller runs; then the real ferry binary serves them and headless
// Chromium opens the overview, searches and filters by namespace. Times
// are what the browser measures (first contentful paint, and from a
// keystroke until the rows on screen are the filtered ones).
func runUI(ctx context.Context, env *Env) (*Result, error) {
	c, err := benchClient(env)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	start := time.Now()
	if err := createKustomizationsWithStatus(ctx, c, env.N); err != nil {
		return nil, err
	}
	res.Add(fmt.Sprintf("create %d Kustomizations with status, in %d namespaces", env.N, uiNamespaces), time.Since(start).Round(time.Millisecond).String())

	work, err := os.MkdirTemp("", "ferry-bench-ui-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	root, err := cluster.RepoRoot()
	if err != nil {
		return nil, err
	}
	build := exec.Command("go", "build", "-o", filepath.Join(work, "ferry"), ".")
	build.Dir = filepath.Join(root, "cli")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building ferry: %w\n%s", err, out)
	}
	addr := harness.FreeAddr()
	start = time.Now()
	ui := exec.CommandContext(ctx, filepath.Join(work, "ferry"), "ui", "--kubeconfig="+env.Cluster.KubeconfigPath, "--addr="+addr)
	stdout, err := ui.StdoutPipe()
	if err != nil {
		return nil, err
	}
	ui.Stderr = os.Stderr
	if err := ui.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = ui.Process.Signal(os.Interrupt); _ = ui.Wait() }()
	if err := waitLine(stdout, "Ferry UI on", time.Minute); err != nil {
		return nil, err
	}
	res.Add(fmt.Sprintf("ferry ui start until serving, caches of %d Kustomizations filled", env.N), time.Since(start).Round(time.Millisecond).String())
	base := "http://" + addr

	if err := serverFigures(res, base); err != nil {
		return nil, err
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath("/usr/bin/chromium"), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1440, 1000))...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil {
		return nil, fmt.Errorf("starting chromium: %w", err)
	}
	for i, label := range []string{"first visit", "second visit", "third visit"} {
		tab, cancel := chromedp.NewContext(browser)
		// The first run opens the tab for the lifetime of the context it
		// gets, so it runs on the tab's own.
		if err := chromedp.Do(tab); err != nil {
			cancel()
			return nil, err
		}
		fcp, visible, err := openOverview(tab, base)
		if err != nil {
			cancel()
			return nil, err
		}
		res.Add("overview, "+label+": first contentful paint (browser's clock)", ms(fcp))
		res.Add("overview, "+label+": navigation start to rows visible (wall clock)", ms(visible))
		if i == 2 {
			// The newest name has the most digits, so it matches itself only.
			last := fmt.Sprintf("ks-%d", env.N-1)
			search, err := timeFilter(tab, `f.q.value = "`+last+`"; f.q.dispatchEvent(new Event("input", {bubbles: true}))`,
				`document.querySelectorAll("table.objects tbody tr").length === 1 && document.querySelector("table.objects tbody").innerText.includes("`+last+`")`)
			if err != nil {
				cancel()
				return nil, err
			}
			res.Add("search: keystroke until the one matching row is shown (includes the 120 ms typing debounce)", ms(search))
			nsFilter, err := timeFilter(tab, `f.q.value = ""; f.ns.value = "bench-ui-7"; f.ns.dispatchEvent(new Event("input", {bubbles: true}))`,
				`Array.from(document.querySelectorAll("table.objects tbody tr td:first-child")).every(td => td.innerText === "bench-ui-7") && document.querySelector(".total").innerText.startsWith("`+fmt.Sprint(env.N/uiNamespaces)+` shown")`)
			if err != nil {
				cancel()
				return nil, err
			}
			res.Add("namespace filter: change until its rows are shown (includes the debounce)", ms(nsFilter))
			nodes, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.getElementsByTagName("*").length`))
			if err == nil {
				res.Add("DOM elements on the filtered overview page", fmt.Sprint(nodes))
			}
		}
		cancel()
	}
	return res, nil
}

// createKustomizationsWithStatus creates n Kustomizations across
// uiNamespaces namespaces and writes their status as a controller would,
// one in ten failing.
func createKustomizationsWithStatus(ctx context.Context, c client.Client, n int) error {
	for i := range uiNamespaces {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-ui-%d", i)}}); err != nil {
			return err
		}
	}
	work := make(chan int)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := createOne(ctx, c, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
loop:
	for i := range n {
		select {
		case work <- i:
		case err = <-errs:
			break loop
		}
	}
	close(work)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return err
}

func createOne(ctx context.Context, c client.Client, i int) error {
	k := &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ks-%d", i), Namespace: fmt.Sprintf("bench-ui-%d", i%uiNamespaces)},
		Spec: kustomizev1.KustomizationSpec{Interval: metav1.Duration{Duration: time.Hour}, Path: fmt.Sprintf("./apps/app-%d", i), Prune: true,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "fleet"}},
	}
	if err := c.Create(ctx, k); err != nil {
		return err
	}
	rev := fmt.Sprintf("main@sha1:%040x", i)
	ready := metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "ReconciliationSucceeded",
		Message: "Applied revision: " + rev, ObservedGeneration: 1}
	if i%10 == 3 {
		ready.Status, ready.Reason = metav1.ConditionFalse, "BuildFailed"
		ready.Message = fmt.Sprintf("kustomization path not found: stat /tmp/kustomization-%d/apps/app-%d: no such file or directory", i, i)
	}
	meta.SetStatusCondition(&k.Status.Conditions, ready)
	k.Status.ObservedGeneration = 1
	k.Status.LastAttemptedRevision = rev
	if ready.Status == metav1.ConditionTrue {
		k.Status.LastAppliedRevision = rev
	}
	return c.Status().Update(ctx, k)
}

// waitLine reads r until a line contains want.
func waitLine(r io.Reader, want string, timeout time.Duration) error {
	found := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if strings.Contains(sc.Text(), want) {
				found <- true
				_, _ = io.Copy(io.Discard, r)
				return
			}
		}
		found <- false
	}()
	select {
	case ok := <-found:
		if !ok {
			return fmt.Errorf("ferry ui exited before saying %q", want)
		}
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("ferry ui did not say %q within %s", want, timeout)
	}
}

// serverFigures times the server alone: the whole overview page and the
// rows part the search box fetches, and how big the page is.
func serverFigures(res *Result, base string) error {
	get := func(url string) (time.Duration, int, error) {
		start := time.Now()
		resp, err := http.Get(url)
		if err != nil {
			return 0, 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return time.Since(start), len(b), err
	}
	var page, rows []time.Duration
	size := 0
	for range 20 {
		d, n, err := get(base + "/")
		if err != nil {
			return err
		}
		page, size = append(page, d), n
		if d, _, err = get(base + "/rows?q=ks-42"); err != nil {
			return err
		}
		rows = append(rows, d)
	}
	p50, p95 := percentiles(page)
	res.Add("server: overview page p50 / p95 (20 requests)", ms(p50)+" / "+ms(p95))
	res.Add("server: overview page size (one page of 100 rows)", fmt.Sprintf("%.1f KiB", float64(size)/1024))
	p50, p95 = percentiles(rows)
	res.Add("server: search over all rows p50 / p95", ms(p50)+" / "+ms(p95))
	return nil
}

// openOverview loads the overview in a fresh tab and returns the first
// contentful paint as the browser reports it, and the wall time from the
// navigation until the first row is visible.
func openOverview(tab context.Context, base string) (time.Duration, time.Duration, error) {
	ctx, cancel := context.WithTimeout(tab, time.Minute)
	defer cancel()
	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("table.objects tbody tr"))); err != nil {
		return 0, 0, fmt.Errorf("opening the overview: %w", err)
	}
	visible := time.Since(start)
	fcp, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`new Promise(resolve => {
		const done = () => { const e = performance.getEntriesByName("first-contentful-paint")[0]; if (e) { resolve(e.startTime); return true; } return false; };
		if (!done()) { new PerformanceObserver(() => done()).observe({type: "paint", buffered: true}); }
	})`, chromedp.EvalAwaitPromise))
	if err != nil {
		return 0, 0, fmt.Errorf("reading the first contentful paint: %w", err)
	}
	return time.Duration(fcp * float64(time.Millisecond)), visible, nil
}

// timeFilter runs change on the filter form (as f) and measures, with the
// page's own clock, until done is true after a DOM change.
func timeFilter(tab context.Context, change, done string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(tab, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`new Promise(resolve => {
		const f = document.getElementById("filters");
		const t0 = performance.now();
		const check = () => { if (`+done+`) { obs.disconnect(); resolve(performance.now() - t0); } };
		const obs = new MutationObserver(check);
		obs.observe(document.getElementById("results"), {childList: true, subtree: true, characterData: true});
		`+change+`;
	})`, chromedp.EvalAwaitPromise))
	if err != nil {
		return 0, err
	}
	return time.Duration(v * float64(time.Millisecond)), nil
}
