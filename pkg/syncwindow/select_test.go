package syncwindow

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	policyv1 "github.com/ferrycd/ferry/pkg/apis/policy/v1alpha1"
)

func TestSelects(t *testing.T) {
	obj := &metav1.ObjectMeta{Name: "app-frontend", Namespace: "apps", Labels: map[string]string{"tier": "web"}}
	tests := []struct {
		name string
		sel  policyv1.SyncWindowSelector
		kind string
		want bool
	}{
		{"empty selects all", policyv1.SyncWindowSelector{}, "HelmRelease", true},
		{"kind matches", policyv1.SyncWindowSelector{Kinds: []policyv1.SelectableKind{"Kustomization"}}, "Kustomization", true},
		{"kind differs", policyv1.SyncWindowSelector{Kinds: []policyv1.SelectableKind{"Kustomization"}}, "HelmRelease", false},
		{"glob matches", policyv1.SyncWindowSelector{Names: []string{"db-*", "app-*"}}, "Kustomization", true},
		{"glob differs", policyv1.SyncWindowSelector{Names: []string{"*-prod"}}, "Kustomization", false},
		{"labels match", policyv1.SyncWindowSelector{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "web"}}}, "Kustomization", true},
		{"labels differ", policyv1.SyncWindowSelector{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "db"}}}, "Kustomization", false},
		{"every part must match", policyv1.SyncWindowSelector{Names: []string{"app-*"}, Kinds: []policyv1.SelectableKind{"HelmRelease"}}, "Kustomization", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sw := &policyv1.SyncWindow{Spec: policyv1.SyncWindowSpec{Selector: tt.sel}}
			got, err := Selects(sw, tt.kind, obj)
			if err != nil || got != tt.want {
				t.Fatalf("Selects = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestFromSpecInvalid(t *testing.T) {
	sw := &policyv1.SyncWindow{
		ObjectMeta: metav1.ObjectMeta{Name: "w", Namespace: "apps"},
		Spec:       policyv1.SyncWindowSpec{Kind: "deny", Schedule: "every tuesday", Duration: metav1.Duration{Duration: time.Hour}},
	}
	if _, err := FromSpec(sw); err == nil {
		t.Fatal("an invalid cron expression parsed")
	}
}

func TestNextChange(t *testing.T) {
	w := mustParse(t, "apps/bh", Allow, "0 8 * * *", "2h", "UTC", false)
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	if got := NextChange(w, now); !got.Equal(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("active window changes at %s, want its end", got)
	}
	now = time.Date(2026, 12, 7, 11, 0, 0, 0, time.UTC)
	if got := NextChange(w, now); !got.Equal(time.Date(2026, 12, 8, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("inactive window changes at %s, want its next start", got)
	}
}
