package cmd

import (
	"bytes"
	"strings"
	"testing"
)

// TestUIRefusesNonLoopback: `ferry ui` will not listen where others can
// reach it unless told so, before it reads any kubeconfig.
func TestUIRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:9080", ":9080", "192.0.2.1:9080"} {
		var out, errOut bytes.Buffer
		code := Execute([]string{"ui", "--addr", addr, "--kubeconfig", "/nonexistent"}, strings.NewReader(""), &out, &errOut)
		if code != ExitError || !strings.Contains(errOut.String(), "is not a loopback address") || !strings.Contains(errOut.String(), "--allow-remote") {
			t.Errorf("ferry ui --addr %s: exit %d, stderr %q; want exit %d refusing a non-loopback address", addr, code, errOut.String(), ExitError)
		}
	}
}
