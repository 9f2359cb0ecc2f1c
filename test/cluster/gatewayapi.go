package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// GatewayAPIModule is the Go module whose CRDs GatewayAPICRDs installs.
const GatewayAPIModule = "sigs.k8s.io/gateway-api"

// GatewayAPICRDs returns the HTTPRoute CRD (standard channel) of the
// sigs.k8s.io/gateway-api module that the calling test's module requires,
// from the module cache, for Options.ExtraCRDs. The CRD comes from the
// same module version as the Go types the controller uses, so the schema
// the API server validates against is the one the code was written for,
// and nothing is fetched at run time: the module is in the cache because
// the test binary was built with it.
func GatewayAPICRDs() ([]string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", GatewayAPIModule)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("finding %s in the module cache (is it in this module's go.mod?): %w", GatewayAPIModule, err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return nil, fmt.Errorf("%s is not in the module cache: run go mod download %s", GatewayAPIModule, GatewayAPIModule)
	}
	crd := filepath.Join(dir, "config", "crd", "standard", "gateway.networking.k8s.io_httproutes.yaml")
	if _, err := os.Stat(crd); err != nil {
		return nil, fmt.Errorf("the HTTPRoute CRD of %s: %w", GatewayAPIModule, err)
	}
	return []string{crd}, nil
}
