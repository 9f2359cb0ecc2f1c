// Package health holds the health rules Ferry knows for kinds whose status
// kstatus cannot read on its own: the objects of secret operators (External
// Secrets Operator's ExternalSecret and ClusterExternalSecret, Sealed
// Secrets' SealedSecret). kstatus counts an object whose Ready condition is
// False as in progress, so a health check on an ExternalSecret that cannot
// reach its store waits out the whole timeout instead of failing at once; and
// a SealedSecret reports Synced, not Ready.
//
// The rules are status readers for the kstatus poller, placed after the
// user's spec.healthCheckExprs readers, so a user's own expressions for these
// kinds win (the poller takes the first reader that supports a kind).
package health

import (
	"fmt"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/engine"
	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/statusreaders"
	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// readyConditionOf says which condition tells a kind's health.
var readyConditionOf = map[schema.GroupKind]string{
	{Group: "external-secrets.io", Kind: "ExternalSecret"}:        "Ready",
	{Group: "external-secrets.io", Kind: "ClusterExternalSecret"}: "Ready",
	{Group: "bitnami.com", Kind: "SealedSecret"}:                  "Synced",
}

// Status computes the health of an object of a kind this package knows: an
// older observedGeneration or a missing condition is in progress (the
// operator has not synced it yet), the condition True is current and False
// failed, with the operator's message.
func Status(u *unstructured.Unstructured) (*status.Result, error) {
	condType, ok := readyConditionOf[u.GroupVersionKind().GroupKind()]
	if !ok {
		return nil, fmt.Errorf("no health rule for %s", u.GroupVersionKind().GroupKind())
	}
	if og, found, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration"); found && og != u.GetGeneration() {
		return &status.Result{Status: status.InProgressStatus, Message: fmt.Sprintf("%s generation %d not yet synced", u.GetKind(), u.GetGeneration())}, nil
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != condType {
			continue
		}
		msg, _ := m["message"].(string)
		switch m["status"] {
		case "True":
			return &status.Result{Status: status.CurrentStatus, Message: msg}, nil
		case "False":
			if msg == "" {
				msg, _ = m["reason"].(string)
			}
			return &status.Result{Status: status.FailedStatus, Message: msg}, nil
		}
	}
	return &status.Result{Status: status.InProgressStatus, Message: fmt.Sprintf("%s not yet synced by its operator", u.GetKind())}, nil
}

// Reader returns a status reader for the kinds this package knows.
func Reader(mapper apimeta.RESTMapper) engine.StatusReader {
	return &reader{StatusReader: statusreaders.NewGenericStatusReader(mapper, Status)}
}

// reader narrows the generic reader, which supports every kind, to ours.
type reader struct{ engine.StatusReader }

func (r *reader) Supports(gk schema.GroupKind) bool {
	_, ok := readyConditionOf[gk]
	return ok
}
