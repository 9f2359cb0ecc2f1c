package v2

import (
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestGetReleaseName(t *testing.T) {
	tests := []struct {
		name            string
		objectName      string
		targetNamespace string
		releaseName     string
		want            string
	}{
		{name: "object name", objectName: "podinfo", want: "podinfo"},
		{name: "target namespace prefix", objectName: "podinfo", targetNamespace: "apps", want: "apps-podinfo"},
		{name: "explicit release name", objectName: "podinfo", targetNamespace: "apps", releaseName: "web", want: "web"},
		// The expected names below are the ones Flux's code gives (the
		// hashes match Flux's tests and documentation), so releases made by
		// Flux are found again.
		{
			name:            "shortened composition",
			objectName:      "with-a-nice-object-name",
			targetNamespace: "a-very-lengthy-target-namespace",
			want:            "a-very-lengthy-target-namespace-with-a-n-97af5d7f41f3",
		},
		{
			name:       "shortened object name",
			objectName: "release-name-with-very-long-name-which-is-longer-than-53-characters",
			want:       "release-name-with-very-long-name-which-i-788ca0d0d7b0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hr := &HelmRelease{
				ObjectMeta: metav1.ObjectMeta{Name: tt.objectName, Namespace: "default"},
				Spec:       HelmReleaseSpec{TargetNamespace: tt.targetNamespace, ReleaseName: tt.releaseName},
			}
			got := hr.GetReleaseName()
			if got != tt.want {
				t.Errorf("GetReleaseName() = %q, want %q", got, tt.want)
			}
			if len(got) > maxReleaseNameLength {
				t.Errorf("GetReleaseName() = %q is longer than %d", got, maxReleaseNameLength)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	hr := &HelmRelease{ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "default"}}
	if got := hr.GetTimeout(); got != 5*time.Minute {
		t.Errorf("GetTimeout() = %s, want 5m", got)
	}
	if got := hr.GetMaxHistory(); got != 5 {
		t.Errorf("GetMaxHistory() = %d, want 5", got)
	}
	if got := hr.GetReleaseNamespace(); got != "default" {
		t.Errorf("GetReleaseNamespace() = %q, want default", got)
	}
	if got := hr.GetStorageNamespace(); got != "default" {
		t.Errorf("GetStorageNamespace() = %q, want default", got)
	}
	if got := hr.GetValues(); got != nil {
		t.Errorf("GetValues() = %v, want nil", got)
	}
	if got := hr.GetUninstall().GetDeletionPropagation(); got != "background" {
		t.Errorf("GetDeletionPropagation() = %q, want background", got)
	}
	if got := hr.GetUpgrade().GetRemediation().GetStrategy(); got != RollbackRemediationStrategy {
		t.Errorf("upgrade remediation strategy = %q, want rollback", got)
	}

	hr.Spec.Timeout = &metav1.Duration{Duration: time.Minute}
	hr.Spec.MaxHistory = new(0)
	hr.Spec.TargetNamespace = "apps"
	hr.Spec.StorageNamespace = "helm"
	hr.Spec.Values = &apiextensionsv1.JSON{Raw: []byte(`{"replicaCount":2}`)}
	if got := hr.GetTimeout(); got != time.Minute {
		t.Errorf("GetTimeout() = %s, want 1m", got)
	}
	if got := hr.GetMaxHistory(); got != 0 {
		t.Errorf("GetMaxHistory() = %d, want 0", got)
	}
	if got := hr.GetReleaseNamespace(); got != "apps" {
		t.Errorf("GetReleaseNamespace() = %q, want apps", got)
	}
	if got := hr.GetStorageNamespace(); got != "helm" {
		t.Errorf("GetStorageNamespace() = %q, want helm", got)
	}
	if got := hr.GetValues()["replicaCount"]; got != float64(2) {
		t.Errorf("GetValues()[replicaCount] = %v, want 2", got)
	}
}

func TestRemediationRetries(t *testing.T) {
	hr := &HelmRelease{}
	hr.Status.LastAttemptedReleaseAction = ReleaseActionUpgrade
	hr.Spec.Upgrade = &Upgrade{Remediation: &UpgradeRemediation{Retries: 1}}

	r := hr.GetActiveRemediation()
	if !r.MustRemediateLastFailure() {
		t.Error("upgrade with retries should remediate the last failure by default")
	}
	r.IncrementFailureCount(hr)
	if r.RetriesExhausted(hr) {
		t.Error("one failure with one retry should leave a retry")
	}
	r.IncrementFailureCount(hr)
	if !r.RetriesExhausted(hr) {
		t.Error("two failures with one retry should exhaust the retries")
	}

	hr.Status.LastAttemptedReleaseAction = ReleaseActionInstall
	hr.Spec.Install = &Install{Remediation: &InstallRemediation{Retries: -1}}
	r = hr.GetActiveRemediation()
	for range 10 {
		r.IncrementFailureCount(hr)
	}
	if r.RetriesExhausted(hr) {
		t.Error("negative retries should never be exhausted")
	}
	if r.GetStrategy() != UninstallRemediationStrategy {
		t.Error("install remediation should uninstall")
	}
}

func TestSnapshotsTruncate(t *testing.T) {
	failedTest := map[string]*TestHookStatus{"t": {Phase: TestHookPhaseFailed}}
	history := Snapshots{
		{Version: 1, Status: SnapshotStatusSuperseded},
		{Version: 4, Status: "failed"},
		{Version: 2, Status: SnapshotStatusSuperseded},
		{Version: 3, Status: SnapshotStatusSuperseded, TestHooks: &failedTest},
	}

	if got := history.Previous(false); got == nil || got.Version != 2 {
		t.Fatalf("Previous(false) = %v, want version 2", got)
	}
	if got := history.Previous(true); got == nil || got.Version != 3 {
		t.Fatalf("Previous(true) = %v, want version 3", got)
	}

	history.Truncate(false)
	if len(history) != 3 || history.Latest().Version != 4 || history[2].Version != 2 {
		t.Errorf("Truncate(false) left %d snapshots, want versions 4, 3, 2", len(history))
	}
}
