package v1

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestReceiverGetWebhookPath(t *testing.T) {
	r := &Receiver{ObjectMeta: metav1.ObjectMeta{Name: "github-receiver", Namespace: "flux-system"}}
	// printf '%s' 'secretgithub-receiverflux-system' | sha256sum
	want := "/hook/3ebfdfb67b3c5963f990114d0708b807ac4215f88f34374070b2d29d6400597a"
	if got := r.GetWebhookPath("secret"); got != want {
		t.Errorf("GetWebhookPath() = %q, want %q", got, want)
	}
}

func TestReceiverGetRequeueAfter(t *testing.T) {
	r := &Receiver{}
	if got := r.GetRequeueAfter(); got != 10*time.Minute {
		t.Errorf("GetRequeueAfter() without interval = %v, want 10m", got)
	}
	r.Spec.Interval = &metav1.Duration{Duration: 30 * time.Second}
	if got := r.GetRequeueAfter(); got != 30*time.Second {
		t.Errorf("GetRequeueAfter() = %v, want 30s", got)
	}
}
