package webhook

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
)

// WebhookPathIndex indexes Receivers by status.webhookPath, so a request
// finds its Receiver with one cache lookup instead of a scan of all of them.
const WebhookPathIndex = ".status.webhookPath"

// webhookPathKeys is the index function of WebhookPathIndex.
func webhookPathKeys(o client.Object) []string {
	r, ok := o.(*notificationv1.Receiver)
	if !ok || r.Status.WebhookPath == "" {
		return nil
	}
	return []string{r.Status.WebhookPath}
}

// IndexReceivers registers WebhookPathIndex with the manager's cache.
func IndexReceivers(ctx context.Context, indexer client.FieldIndexer) error {
	return indexer.IndexField(ctx, &notificationv1.Receiver{}, WebhookPathIndex, webhookPathKeys)
}
