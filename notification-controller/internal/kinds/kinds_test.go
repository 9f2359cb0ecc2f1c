package kinds

import "testing"

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		apiVersion, kind, want string
		wantErr                bool
	}{
		{"", "GitRepository", "source.toolkit.fluxcd.io/v1, Kind=GitRepository", false},
		{"source.toolkit.fluxcd.io/v1beta2", "OCIRepository", "source.toolkit.fluxcd.io/v1, Kind=OCIRepository", false},
		{"kustomize.toolkit.fluxcd.io/v1", "Kustomization", "kustomize.toolkit.fluxcd.io/v1, Kind=Kustomization", false},
		{"helm.toolkit.fluxcd.io/v2beta1", "HelmRelease", "helm.toolkit.fluxcd.io/v2, Kind=HelmRelease", false},
		{"apps/v1", "GitRepository", "", true},
		{"", "Deployment", "", true},
		{"a/b/c", "GitRepository", "", true},
	} {
		got, err := Resolve(tc.apiVersion, tc.kind)
		if (err != nil) != tc.wantErr || (err == nil && got.String() != tc.want) {
			t.Errorf("Resolve(%q, %q) = %v, %v", tc.apiVersion, tc.kind, got, err)
		}
	}
}
