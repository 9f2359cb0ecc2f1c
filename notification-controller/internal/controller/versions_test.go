package controller

import (
	"net/http"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestV1beta3ManifestsForwardEvents checks that a Provider and an Alert
// written for Flux before 2.10 (v1beta3) work unchanged: the API server
// stores them at v1, the controller reads them at v1, and events reach the
// Provider.
func TestV1beta3ManifestsForwardEvents(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	create(t, newGitRepository(ns, "webapp", nil))
	s := newSink(t, http.StatusOK)
	provider := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Provider",
		"metadata": map[string]any{"namespace": ns, "name": "old"},
		"spec":     map[string]any{"type": "generic", "address": s.URL},
	}}
	alert := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Alert",
		"metadata": map[string]any{"namespace": ns, "name": "old"},
		"spec": map[string]any{
			"providerRef":  map[string]any{"name": "old"},
			"eventSources": []any{map[string]any{"kind": "GitRepository", "name": "webapp"}},
		},
	}}
	create(t, provider, alert)
	waitCached(t, ns, 1, 1)

	g.Expect(postEvent(t, gitRepoEvent(ns, "webapp", "info", "stored artifact", "main@sha1:1"))).To(Equal(http.StatusAccepted))
	g.Eventually(s.messages, timeout).Should(Equal([]string{"stored artifact"}))
}
