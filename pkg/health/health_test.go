package health

import (
	"strings"
	"testing"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

func TestStatus(t *testing.T) {
	tests := []struct {
		name     string
		manifest string
		want     status.Status
		message  string
	}{
		{"external secret synced", `
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, generation: 1}
status:
  refreshTime: "2026-12-01T10:00:00Z"
  conditions:
  - {type: Ready, status: "True", reason: SecretSynced, message: secret synced}
`, status.CurrentStatus, "secret synced"},
		{"external secret failing", `
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata: {name: db, generation: 1}
status:
  conditions:
  - {type: Ready, status: "False", reason: SecretSyncedError, message: could not get secret data from provider}
`, status.FailedStatus, "could not get secret data from provider"},
		{"external secret not yet synced", `
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, generation: 1}
`, status.InProgressStatus, "not yet synced"},
		{"sealed secret unsealed", `
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: db, generation: 2}
status:
  observedGeneration: 2
  conditions:
  - {type: Synced, status: "True"}
`, status.CurrentStatus, ""},
		{"sealed secret cannot be decrypted", `
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: db, generation: 2}
status:
  observedGeneration: 2
  conditions:
  - {type: Synced, status: "False", reason: ErrUnsealFailed, message: no key could decrypt secret}
`, status.FailedStatus, "no key could decrypt secret"},
		{"sealed secret of an older generation", `
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: db, generation: 3}
status:
  observedGeneration: 2
  conditions:
  - {type: Synced, status: "True"}
`, status.InProgressStatus, "generation 3 not yet synced"},
		{"sealed secret not yet seen", `
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: db, generation: 1}
`, status.InProgressStatus, "not yet synced"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Decoded as the API client decodes it: numbers are int64.
			data, err := yaml.YAMLToJSON([]byte(tt.manifest))
			if err != nil {
				t.Fatal(err)
			}
			u := &unstructured.Unstructured{}
			if err := u.UnmarshalJSON(data); err != nil {
				t.Fatal(err)
			}
			res, err := Status(u)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tt.want {
				t.Fatalf("status = %s (%s), want %s", res.Status, res.Message, tt.want)
			}
			if tt.message != "" && !strings.Contains(res.Message, tt.message) {
				t.Errorf("message = %q, want %q", res.Message, tt.message)
			}
		})
	}
}

func TestReaderSupports(t *testing.T) {
	r := Reader(nil)
	if !r.Supports(schema.GroupKind{Group: "bitnami.com", Kind: "SealedSecret"}) {
		t.Fatal("SealedSecret not supported")
	}
	if r.Supports(schema.GroupKind{Group: "apps", Kind: "Deployment"}) {
		t.Fatal("the reader claims Deployments, which kstatus reads itself")
	}
}
