package action

import (
	"testing"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"

	"github.com/ferrycd/ferry/pkg/kubeclient"
)

// TestConfigsForgetATarget checks that what is kept per Target goes when
// the client factory evicts it. Nothing here talks to a server.
func TestConfigsForgetATarget(t *testing.T) {
	g := NewWithT(t)
	c := NewConfigs()
	kept := &kubeclient.Target{Config: &rest.Config{Host: "https://127.0.0.1:1"}}
	evicted := &kubeclient.Target{Config: &rest.Config{Host: "https://127.0.0.1:2"}}
	for _, target := range []*kubeclient.Target{kept, evicted} {
		for _, ns := range []string{"a", "b"} {
			_, err := c.For(target, ns, ns, logr.Discard())
			g.Expect(err).NotTo(HaveOccurred())
		}
	}
	g.Expect(c.targets).To(HaveLen(2))
	g.Expect(c.factories).To(HaveLen(4))

	c.Forget(evicted)
	g.Expect(c.targets).To(HaveLen(1))
	g.Expect(c.targets).To(HaveKey(kept))
	g.Expect(c.factories).To(HaveLen(2))
	for key := range c.factories {
		g.Expect(key.target).To(BeIdenticalTo(kept))
	}
}
