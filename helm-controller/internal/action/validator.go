package action

import (
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/openapi/cached"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/validation"
)

// validatingFactory is the kubectl factory Helm builds a release's objects
// with, its Validator answering from what every earlier build on the same
// target learnt.
//
// Helm validates the objects of every install and upgrade (Build with
// validation on), and kubectl's factory makes a new validator for each
// Build, whose first question (does the API server validate fields of this
// kind itself?) fetches the OpenAPI v3 document of the kind's group
// version and parses it: for the core group a document of megabytes. In a
// profile of installs of ConfigMap charts that parse was about 70% of the
// controller's CPU, and the fetch a large response on every release. The
// answer for a kind does not change while the API server serves it, so a
// "yes" is kept per target; a "no" or an error is not kept, and asked
// again, so a kind whose CRD is installed later is still found.
type validatingFactory struct {
	cmdutil.Factory
	supported *fieldValidationCache
}

// Validator is kubectl's validator with the shared answers: client-side
// schema validation runs only where the API server cannot validate fields.
func (f *validatingFactory) Validator(directive string) (validation.Schema, error) {
	if directive == metav1.FieldValidationIgnore {
		return validation.NullSchema{}, nil
	}
	return validation.NewParamVerifyingSchema(
		validation.ConjunctiveSchema{validation.NewSchemaValidation(f), validation.NoDoubleKeySchema{}},
		f.supported.verifier(func() (resource.Verifier, error) { return kubectlVerifier(f.Factory) }), directive), nil
}

// fieldValidationCache remembers the kinds of one target whose API server
// validates fields (the fieldValidation query parameter).
type fieldValidationCache struct {
	mu        sync.RWMutex
	supported map[schema.GroupVersionKind]bool
}

func newFieldValidationCache() *fieldValidationCache {
	return &fieldValidationCache{supported: map[schema.GroupVersionKind]bool{}}
}

// verifier answers from the cache and otherwise asks the verifier ask
// returns.
func (c *fieldValidationCache) verifier(ask func() (resource.Verifier, error)) resource.Verifier {
	return verifierFunc(func(gvk schema.GroupVersionKind) error {
		c.mu.RLock()
		ok := c.supported[gvk]
		c.mu.RUnlock()
		if ok {
			return nil
		}
		v, err := ask()
		if err != nil {
			return err
		}
		if err := v.HasSupport(gvk); err != nil {
			return err
		}
		c.mu.Lock()
		c.supported[gvk] = true
		c.mu.Unlock()
		return nil
	})
}

// kubectlVerifier is the verifier kubectl's factory builds for a Validator:
// the OpenAPI v3 document, then v2, through f's clients.
func kubectlVerifier(f cmdutil.Factory) (resource.Verifier, error) {
	dyn, err := f.DynamicClient()
	if err != nil {
		return nil, err
	}
	dc, err := f.ToDiscoveryClient()
	if err != nil {
		return nil, err
	}
	primary := resource.NewQueryParamVerifierV3(dyn, cached.NewClient(dc.OpenAPIV3()), resource.QueryParamFieldValidation)
	secondary := resource.NewQueryParamVerifier(dyn, discovery.OpenAPISchemaInterface(dc), resource.QueryParamFieldValidation)
	return resource.NewFallbackQueryParamVerifier(primary, secondary), nil
}

type verifierFunc func(schema.GroupVersionKind) error

func (f verifierFunc) HasSupport(gvk schema.GroupVersionKind) error { return f(gvk) }
