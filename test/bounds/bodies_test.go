package bounds

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
)

// maxBody is the notification-controller's cap on request bodies, for both
// its event endpoint and its webhook receivers (httpserver.MaxBodyBytes).
const maxBody = 3 << 20

// post sends size bytes of filler to url, streamed with a known length,
// and returns the status code and the body of the answer.
func post(t *testing.T, url string, size int64) (int, string) {
	t.Helper()
	body := io.LimitReader(filler{}, size)
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Fatalf("POST %d bytes to %s: %v", size, url, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(answer))
}

// filler reads as an endless run of 'a', so a body of any size costs the
// test no memory.
type filler struct{}

func (filler) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

// TestOversizedBodies: the event endpoint and the webhook receiver answer
// 413 to a body over 3 MiB and stop reading it, and read a body of exactly
// 3 MiB (which is then refused for what it says: 400 for an event that is
// not JSON, 404 for a webhook path no Receiver has), so the 413 is the
// size cap and nothing else.
func TestOversizedBodies(t *testing.T) {
	measure(t)
	for _, tc := range []struct {
		name, url string
		// fits is the status of a body at the cap.
		fits int
		want string
	}{
		{name: "event endpoint", url: "http://" + addrs.Events + "/", fits: http.StatusBadRequest,
			want: "event body is larger than 3 MiB"},
		{name: "webhook receiver", url: "http://" + addrs.Receiver + notificationv1.ReceiverWebhookPath + "no-such-receiver",
			fits: http.StatusNotFound, want: "body is larger than 3 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The servers start with the manager, after /readyz may answer.
			NewWithT(t).Eventually(func() error {
				resp, err := http.Get(tc.url)
				if err == nil {
					_ = resp.Body.Close()
				}
				return err
			}, time.Minute, 100*time.Millisecond).Should(Succeed())
			if code, answer := post(t, tc.url, maxBody); code != tc.fits {
				t.Errorf("a body of exactly 3 MiB: %d %q, want %d", code, answer, tc.fits)
			}
			for _, size := range []int64{maxBody + 1, 64 << 20} {
				code, answer := post(t, tc.url, size)
				if code != http.StatusRequestEntityTooLarge || !strings.Contains(answer, tc.want) {
					t.Errorf("a body of %d bytes: %d %q, want 413 %q", size, code, answer, tc.want)
				}
			}
		})
	}
}
