package v1

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestProviderGetTimeout(t *testing.T) {
	p := &Provider{}
	if got := p.GetTimeout(); got != 15*time.Second {
		t.Errorf("GetTimeout() without timeout = %v, want 15s", got)
	}
	p.Spec.Timeout = &metav1.Duration{Duration: 2 * time.Second}
	if got := p.GetTimeout(); got != 2*time.Second {
		t.Errorf("GetTimeout() = %v, want 2s", got)
	}
}
