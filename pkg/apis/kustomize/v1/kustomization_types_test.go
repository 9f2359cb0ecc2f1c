package v1

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestGetTimeout(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		timeout  *time.Duration
		want     time.Duration
	}{
		{name: "interval minus 30s", interval: 10 * time.Minute, want: 9*time.Minute + 30*time.Second},
		{name: "short interval gets the minimum", interval: 40 * time.Second, want: 30 * time.Second},
		{name: "explicit timeout", interval: 10 * time.Minute, timeout: new(2 * time.Minute), want: 2 * time.Minute},
		{name: "explicit timeout below the minimum", interval: 10 * time.Minute, timeout: new(5 * time.Second), want: 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks := &Kustomization{Spec: KustomizationSpec{Interval: metav1.Duration{Duration: tt.interval}}}
			if tt.timeout != nil {
				ks.Spec.Timeout = &metav1.Duration{Duration: *tt.timeout}
			}
			if got := ks.GetTimeout(); got != tt.want {
				t.Errorf("GetTimeout() = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestGetRetryIntervalAndDeletionPolicy(t *testing.T) {
	ks := &Kustomization{Spec: KustomizationSpec{Interval: metav1.Duration{Duration: time.Hour}}}
	if got := ks.GetRetryInterval(); got != time.Hour {
		t.Errorf("GetRetryInterval() = %s, want the interval", got)
	}
	if got := ks.GetDeletionPolicy(); got != DeletionPolicyMirrorPrune {
		t.Errorf("GetDeletionPolicy() = %q, want %q", got, DeletionPolicyMirrorPrune)
	}

	ks.Spec.RetryInterval = &metav1.Duration{Duration: time.Minute}
	ks.Spec.DeletionPolicy = DeletionPolicyOrphan
	if got := ks.GetRetryInterval(); got != time.Minute {
		t.Errorf("GetRetryInterval() = %s, want 1m", got)
	}
	if got := ks.GetDeletionPolicy(); got != DeletionPolicyOrphan {
		t.Errorf("GetDeletionPolicy() = %q, want %q", got, DeletionPolicyOrphan)
	}
}
