// Package e2e drives `ferry ui` in real headless Chromium against a local
// cluster with the source- and kustomize-controller running as processes
// under their own RBAC, and asserts on what a person sees: text, links and
// the result of a click.
//
// FERRY_SCREENSHOTS=DIR (set by `make screenshots`) keeps a PNG of each
// page there; without it the PNGs go to the test's temporary directory.
package e2e

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ferrycd/ferry/cli/internal/kube"
	"github.com/ferrycd/ferry/cli/internal/ui"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/gitserver"
	"github.com/ferrycd/ferry/test/harness"
)

// chromiumPath is Debian's chromium package, which `make screenshots` and
// the test setup install.
const chromiumPath = "/usr/bin/chromium"

var (
	testCluster *cluster.Cluster
	gitSrv      *gitserver.Server
	// adminUI is the UI as a cluster admin sees it.
	adminUI string
	// browser is the one Chromium every test opens its tabs in.
	browser context.Context
)

var controllers = []string{"source-controller", "kustomize-controller"}

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	if _, err := exec.LookPath(chromiumPath); err != nil {
		return 0, fmt.Errorf("the UI tests need Debian's chromium at %s: apt-get install -y chromium", chromiumPath)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := cluster.Start(cluster.Options{Scheme: kube.Scheme})
	if err != nil {
		return 0, err
	}
	testCluster = c
	defer func() { _ = c.Stop() }()
	work, err := os.MkdirTemp("", "ferry-ui-e2e-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(work)
	if gitSrv, err = gitserver.Start(); err != nil {
		return 0, err
	}
	defer gitSrv.Close()
	procs, err := harness.StartLocal(ctx, c, work, controllers...)
	if err != nil {
		return 0, err
	}
	defer func() {
		for _, p := range procs {
			p.Stop()
		}
	}()
	srv, err := ui.New(ctx, ui.Options{Targets: []ui.Target{{Name: "local", Config: c.Config, Namespaces: []string{"default"}}},
		BatchWindow: 200 * time.Millisecond})
	if err != nil {
		return 0, err
	}
	hs := httptest.NewServer(srv.Handler())
	defer func() { hs.CloseClientConnections(); hs.Close() }()
	adminUI = hs.URL

	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1440, 1000))...)
	defer cancelAlloc()
	var cancelBrowser context.CancelFunc
	browser, cancelBrowser = chromedp.NewContext(alloc)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil {
		return 0, fmt.Errorf("starting chromium: %w", err)
	}
	code := m.Run()
	if code != 0 {
		for _, p := range procs {
			fmt.Fprintf(os.Stderr, "==> %s <==\n%s\n", p.Name, p.LogTail(3000))
		}
	}
	return code, nil
}
