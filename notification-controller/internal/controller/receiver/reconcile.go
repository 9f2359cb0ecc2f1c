package receiver

import (
	"context"
	"errors"
	"fmt"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ferrycd/ferry/notification-controller/internal/kinds"
	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
	"github.com/ferrycd/ferry/pkg/outcome"
)

// reconcile runs the steps in order and stops at the first error.
func (r *Reconciler) reconcile(ctx context.Context, obj *notificationv1.Receiver) error {
	if err := validateResources(obj, r.NoCrossNamespaceRefs); err != nil {
		return outcome.StallErr(notificationv1.ValidationFailedReason, err)
	}
	token, err := r.readToken(ctx, obj)
	if err != nil {
		// A path from a token that is gone must not stay advertised.
		obj.Status.WebhookPath = ""
		return outcome.RetryErr(notificationv1.TokenNotFoundReason, err)
	}
	r.publishPath(obj, token)
	return nil
}

// validateResources checks the resources list for what the CRD schema
// cannot: matchLabels and namespace "*" only make sense with name "*", the
// kinds must be ones the controller can annotate, and with
// --no-cross-namespace-refs every resource must be in the Receiver's
// namespace. A failure stalls the Receiver until its spec changes.
func validateResources(obj *notificationv1.Receiver, noCrossNamespaceRefs bool) error {
	for i, res := range obj.Spec.Resources {
		field := fmt.Sprintf("spec.resources[%d]", i)
		if _, err := kinds.Resolve(res.APIVersion, res.Kind); err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		if res.Name != "*" && len(res.MatchLabels) > 0 {
			return fmt.Errorf("%s: matchLabels needs name '*', got '%s'", field, res.Name)
		}
		if res.Namespace == "*" && res.Name != "*" {
			return fmt.Errorf("%s: namespace '*' needs name '*', got '%s'", field, res.Name)
		}
		if noCrossNamespaceRefs && res.Namespace != "" && res.Namespace != obj.Namespace {
			return fmt.Errorf("%s: namespace '%s' is not the Receiver's and cross-namespace references are disabled", field, res.Namespace)
		}
	}
	return nil
}

// readToken reads the "token" key of spec.secretRef, and checks a gcr
// Receiver's Secret also has the "email" and "audience" its requests are
// verified with, so a Receiver that would refuse every request is not
// Ready. Sets nothing; its error becomes Ready=False with reason
// TokenNotFound.
func (r *Reconciler) readToken(ctx context.Context, obj *notificationv1.Receiver) (string, error) {
	key := types.NamespacedName{Namespace: obj.Namespace, Name: obj.Spec.SecretRef.Name}
	var secret corev1.Secret
	if err := r.Get(ctx, key, &secret); err != nil {
		return "", fmt.Errorf("unable to read token from secret '%s': %w", key, err)
	}
	token := string(secret.Data["token"])
	if token == "" {
		return "", errors.New("secret '" + key.String() + "' has no 'token' key: add one holding a random string")
	}
	if obj.Spec.Type == notificationv1.GCRReceiver && (len(secret.Data["email"]) == 0 || len(secret.Data["audience"]) == 0) {
		return "", errors.New("secret '" + key.String() + "' needs the 'email' and 'audience' keys of the Pub/Sub push subscription's token for a gcr Receiver")
	}
	return token, nil
}

// publishPath sets status.webhookPath and Ready=True, and records a Normal
// event when the Receiver becomes ready or its path changes (the token was
// rotated), so `kubectl describe` shows when the URL to configure changed.
func (r *Reconciler) publishPath(obj *notificationv1.Receiver, token string) {
	path := obj.GetWebhookPath(token)
	changed := obj.Status.WebhookPath != path || !conditions.IsReady(obj)
	obj.Status.WebhookPath = path
	conditions.MarkTrue(obj, fluxmeta.ReadyCondition, fluxmeta.SucceededReason, "Receiver initialised for path: %s", path)
	if changed {
		r.Event(obj, "", corev1.EventTypeNormal, fluxmeta.SucceededReason,
			"webhook path published in status.webhookPath")
	}
}
