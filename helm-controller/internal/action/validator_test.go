package action

import (
	"errors"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/resource"
)

// TestFieldValidationCache checks that a kind the API server validates is
// asked about once, and that a kind it does not (yet) know is asked about
// again, so a CRD installed later is found.
func TestFieldValidationCache(t *testing.T) {
	g := NewWithT(t)
	configMap := schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	widget := schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}
	known := map[schema.GroupVersionKind]bool{configMap: true}
	asked := 0
	ask := func() (resource.Verifier, error) {
		return verifierFunc(func(gvk schema.GroupVersionKind) error {
			asked++
			if !known[gvk] {
				return errors.New("not found")
			}
			return nil
		}), nil
	}
	c := newFieldValidationCache()
	for range 3 {
		g.Expect(c.verifier(ask).HasSupport(configMap)).To(Succeed())
	}
	g.Expect(asked).To(Equal(1))
	g.Expect(c.verifier(ask).HasSupport(widget)).NotTo(Succeed())
	known[widget] = true // its CRD is installed
	g.Expect(c.verifier(ask).HasSupport(widget)).To(Succeed())
	g.Expect(c.verifier(ask).HasSupport(widget)).To(Succeed())
	g.Expect(asked).To(Equal(3))
}
