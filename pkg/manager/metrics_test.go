package manager

import (
	"testing"

	. "github.com/onsi/gomega"

	"github.com/ferrycd/ferry/pkg/options"
)

// TestPprofOnlyWhenEnabled checks that the pprof endpoints are served on
// the metrics address with --enable-pprof and not without it.
func TestPprofOnlyWhenEnabled(t *testing.T) {
	g := NewWithT(t)
	opts := options.Options{MetricsAddr: "127.0.0.1:0"}
	g.Expect(metricsOptions(opts).ExtraHandlers).To(BeEmpty())
	opts.EnablePprof = true
	m := metricsOptions(opts)
	g.Expect(m.BindAddress).To(Equal("127.0.0.1:0"))
	g.Expect(m.ExtraHandlers).To(HaveKey("/debug/pprof/profile"))
}
