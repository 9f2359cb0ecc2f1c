// Package fetch downloads source artifacts for the appliers (kustomize-controller,
// helm-controller), verifies them against the digest in the source's status, and
// keeps them unpacked in a local cache keyed by digest.
//
// Flux's appliers download and untar the artifact on every reconcile, even when the
// revision has not changed. Ferry's do it once per digest: a digest names immutable
// content, so an entry that is in the cache is correct by construction and a cache hit
// costs no request at all. Entries are moved into place with an atomic rename only
// after the download verified and the extraction succeeded, so the cache never holds a
// partial or unverified tree. Concurrent requests for the same digest share one
// download, and the least recently used entries are evicted beyond a maximum count.
//
// Errors are typed so that reconcilers can react correctly: NotFoundError (the source
// will publish a new artifact: wait), DigestMismatchError (corrupt or changed
// artifact), DownloadError (network or server trouble: retry with backoff), and
// ErrTooLarge.
package fetch

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/sync/singleflight"

	"github.com/ferrycd/ferry/pkg/artifact/untar"
)

const (
	// DefaultTimeout bounds one download attempt, body included.
	DefaultTimeout = 2 * time.Minute
	// DefaultRetries is how many times a failed request is retried.
	DefaultRetries = 3
	// DefaultMaxSize caps an artifact's size, both as downloaded and as extracted.
	DefaultMaxSize = untar.DefaultMaxSize
	// DefaultMaxEntries is how many artifacts the cache keeps.
	DefaultMaxEntries = 64
)

// Fetcher downloads, verifies and caches artifacts. It is safe for concurrent use.
// Each Fetcher must own its cache directory.
type Fetcher struct {
	cacheDir   string
	httpClient *http.Client
	timeout    time.Duration
	retries    int
	waitMin    time.Duration
	waitMax    time.Duration
	maxSize    int64
	maxEntries int

	client *retryablehttp.Client
	group  singleflight.Group

	mu   sync.Mutex
	used map[string]uint64 // cache entry name -> tick of its last use
	tick uint64
}

// Option configures a Fetcher.
type Option func(*Fetcher)

// WithHTTPClient sets the HTTP client, for instance one with custom TLS settings.
// Its Timeout is replaced by the Fetcher's timeout.
func WithHTTPClient(c *http.Client) Option {
	return func(f *Fetcher) { f.httpClient = c }
}

// WithTimeout bounds each download attempt, body included; 0 means no bound. The
// default is DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(f *Fetcher) { f.timeout = d }
}

// WithRetries sets how many times a request that failed with a network error, 429 or
// a 5xx status is retried; 0 disables retries. The default is DefaultRetries.
func WithRetries(n int) Option {
	return func(f *Fetcher) { f.retries = max(n, 0) }
}

// WithBackoff sets the minimum and maximum wait between retries; the wait doubles
// from min up to max. The defaults are 1s and 30s.
func WithBackoff(minWait, maxWait time.Duration) Option {
	return func(f *Fetcher) { f.waitMin, f.waitMax = minWait, max(minWait, maxWait) }
}

// WithMaxSize caps an artifact's size in bytes, both the download and the sum of
// the extracted files. 0 means DefaultMaxSize; a negative value means no cap.
func WithMaxSize(n int64) Option {
	return func(f *Fetcher) { f.maxSize = n }
}

// WithMaxEntries sets how many artifacts the cache keeps; values below 1 mean 1.
// Callers should keep it well above the number of concurrent reconciles, because an
// evicted tree is deleted even if a reconcile is still reading it.
func WithMaxEntries(n int) Option {
	return func(f *Fetcher) { f.maxEntries = max(n, 1) }
}

// New returns a Fetcher that caches under cacheDir, creating it if needed. It adopts
// the entries a previous Fetcher left there and removes unfinished temporary files.
func New(cacheDir string, opts ...Option) (*Fetcher, error) {
	f := &Fetcher{
		cacheDir:   cacheDir,
		httpClient: http.DefaultClient,
		timeout:    DefaultTimeout,
		retries:    DefaultRetries,
		waitMin:    time.Second,
		waitMax:    30 * time.Second,
		maxSize:    DefaultMaxSize,
		maxEntries: DefaultMaxEntries,
		used:       map[string]uint64{},
	}
	for _, opt := range opts {
		opt(f)
	}
	if f.maxSize == 0 {
		f.maxSize = DefaultMaxSize
	}
	if f.httpClient == nil {
		f.httpClient = http.DefaultClient
	}
	hc := *f.httpClient
	hc.Timeout = f.timeout
	f.client = &retryablehttp.Client{
		HTTPClient:   &hc,
		RetryWaitMin: f.waitMin,
		RetryWaitMax: f.waitMax,
		RetryMax:     f.retries,
		CheckRetry:   retryablehttp.DefaultRetryPolicy,
		Backoff:      f.backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}

	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("failed to create artifact cache: %w", err)
	}
	if err := f.load(); err != nil {
		return nil, err
	}
	return f, nil
}

// Fetch returns a directory holding the extracted tar.gz artifact at url whose digest
// is digest ("sha256:<hex>"). The directory is cacheDir/<hex>; callers must treat it
// as read-only, because later calls for the same digest return the same tree.
func (f *Fetcher) Fetch(ctx context.Context, url, digest string) (string, error) {
	d, err := parseDigest(digest)
	if err != nil {
		return "", err
	}
	return f.get(ctx, d.hex, url, d, func(file, dir string) error {
		r, err := os.Open(file)
		if err != nil {
			return err
		}
		defer r.Close()
		if err := untar.Untar(r, dir, f.maxSize); err != nil {
			return fmt.Errorf("failed to extract artifact %s: %w", url, err)
		}
		return nil
	})
}

// FetchFile returns the path of the single-file artifact at url (a packaged Helm
// chart, for instance), verified against digest and cached without extraction. The
// file keeps the last element of the URL path as its name.
func (f *Fetcher) FetchFile(ctx context.Context, rawURL, digest string) (string, error) {
	d, err := parseDigest(digest)
	if err != nil {
		return "", err
	}
	dir, err := f.get(ctx, d.hex+".file", rawURL, d, func(file, dir string) error {
		return os.Rename(file, filepath.Join(dir, fileName(rawURL)))
	})
	if err != nil {
		return "", err
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		return "", fmt.Errorf("artifact cache entry %q is damaged", dir)
	}
	return filepath.Join(dir, entries[0].Name()), nil
}

// get returns the cache entry name, filling it from url when it is missing. place
// moves the verified download into the new entry's temporary directory.
func (f *Fetcher) get(ctx context.Context, name, url string, d digest, place func(file, dir string) error) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if p, ok := f.lookup(name); ok {
		return p, nil
	}
	// The download is shared by every caller waiting for this entry, so it must not
	// stop because the first of them gave up.
	dlCtx := context.WithoutCancel(ctx)
	ch := f.group.DoChan(name, func() (any, error) {
		if p, ok := f.lookup(name); ok {
			return p, nil
		}
		return f.fill(dlCtx, name, url, d, place)
	})
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return "", res.Err
		}
		return res.Val.(string), nil
	}
}

// fill downloads and verifies the artifact, lets place build the entry in a
// temporary directory and moves that into the cache.
func (f *Fetcher) fill(ctx context.Context, name, url string, d digest, place func(file, dir string) error) (string, error) {
	file, err := f.download(ctx, url, d)
	if err != nil {
		return "", err
	}
	defer os.Remove(file)

	tmpDir, err := os.MkdirTemp(f.cacheDir, tempPrefix)
	if err != nil {
		return "", fmt.Errorf("failed to create artifact cache entry: %w", err)
	}
	if err := os.Chmod(tmpDir, 0o755); err != nil {
		os.RemoveAll(tmpDir)
		return "", fmt.Errorf("failed to create artifact cache entry: %w", err)
	}
	if err := place(file, tmpDir); err != nil {
		os.RemoveAll(tmpDir)
		return "", err
	}
	return f.store(name, tmpDir)
}

// fileName picks the cached file's name from the URL, falling back to a fixed name
// when the URL has none that is safe to use.
func fileName(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "artifact"
	}
	name := path.Base(u.Path)
	if name == "." || name == "/" || name == ".." || name == "" {
		return "artifact"
	}
	return name
}
