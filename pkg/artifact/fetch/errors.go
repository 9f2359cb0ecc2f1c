package fetch

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/ferrycd/ferry/pkg/artifact/untar"
)

// ErrTooLarge is wrapped by the error returned when an artifact, as downloaded or as
// extracted, is larger than the Fetcher's size limit. Retrying does not help; the
// limit or the source has to change.
var ErrTooLarge = untar.ErrTooLarge

// NotFoundError means the server answered 404 or 410: the source has replaced or
// garbage-collected the artifact, or has not published it yet. The caller should
// wait for the source to report its new artifact rather than count a failure.
type NotFoundError struct {
	URL string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("artifact %s not found: the source has not published it yet or has replaced it", e.URL)
}

// DigestMismatchError means the downloaded bytes do not hash to the digest in the
// source's status. The artifact was corrupted in transit or storage, or changed after
// it was published; it is never cached.
type DigestMismatchError struct {
	URL      string
	Expected string
	Actual   string
}

func (e *DigestMismatchError) Error() string {
	return fmt.Sprintf("artifact %s is corrupt or changed since it was published: expected digest %s, got %s",
		e.URL, e.Expected, e.Actual)
}

// DownloadError means the download failed for a reason that may pass: a network
// error, or an HTTP status other than 200 and 404 once retries were used up. The
// caller should retry with backoff.
type DownloadError struct {
	URL string
	// StatusCode is the last HTTP status received, or 0 when no response came.
	StatusCode int
	// Err is the underlying error, if any.
	Err error
}

func (e *DownloadError) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("failed to download artifact %s: HTTP %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	}
	return fmt.Sprintf("failed to download artifact %s: %v", e.URL, e.Err)
}

func (e *DownloadError) Unwrap() error {
	return e.Err
}

// IsNotFound reports whether err says the artifact is gone from the server.
func IsNotFound(err error) bool {
	var target *NotFoundError
	return errors.As(err, &target)
}

// IsDigestMismatch reports whether err says the artifact did not match its digest.
func IsDigestMismatch(err error) bool {
	var target *DigestMismatchError
	return errors.As(err, &target)
}
