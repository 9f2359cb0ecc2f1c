package fetch

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// download streams the artifact at url into a temporary file in the cache directory
// and verifies its digest. It returns the file's path; the caller removes it.
func (f *Fetcher) download(ctx context.Context, url string, d digest) (path string, err error) {
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", fmt.Errorf("invalid artifact URL %q: %w", url, err)
	}
	downloads.Inc()
	resp, err := f.client.Do(req)
	if err != nil {
		return "", &DownloadError{URL: url, Err: err}
	}
	defer resp.Body.Close()

	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return "", &NotFoundError{URL: url}
	case resp.StatusCode != http.StatusOK:
		return "", &DownloadError{URL: url, StatusCode: resp.StatusCode}
	case f.maxSize > 0 && resp.ContentLength > f.maxSize:
		return "", tooLarge(url, f.maxSize)
	}

	tmp, err := os.CreateTemp(f.cacheDir, tempPrefix)
	if err != nil {
		return "", fmt.Errorf("failed to create temporary artifact file: %w", err)
	}
	defer func() {
		if cerr := tmp.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()

	var body io.Reader = resp.Body
	if f.maxSize > 0 {
		// One byte over the limit is enough to know it was exceeded.
		body = io.LimitReader(resp.Body, f.maxSize+1)
	}
	h := d.new()
	n, err := io.Copy(io.MultiWriter(tmp, h), body)
	if err != nil {
		return "", &DownloadError{URL: url, Err: err}
	}
	if f.maxSize > 0 && n > f.maxSize {
		return "", tooLarge(url, f.maxSize)
	}
	if got := d.format(h); got != d.algo+":"+d.hex {
		return "", &DigestMismatchError{URL: url, Expected: d.raw, Actual: got}
	}
	return tmp.Name(), nil
}

// backoff is retryablehttp's exponential backoff, which honours Retry-After, capped
// at the maximum wait so that a server cannot stall a reconcile for long.
func (f *Fetcher) backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	return min(retryablehttp.DefaultBackoff(minWait, maxWait, attempt, resp), maxWait)
}

func tooLarge(url string, limit int64) error {
	return fmt.Errorf("artifact %s: %w of %d bytes", url, ErrTooLarge, limit)
}
