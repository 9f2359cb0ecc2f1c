// Package webhook serves Receivers' webhooks: a request to
// /hook/<sha256(token+name+namespace)> is authenticated the way its
// Receiver's type says (HMAC signature, shared token, a Google-signed OIDC
// token, or payload shape) and,
// when it passes, every object the Receiver lists gets the
// reconcile.fluxcd.io/requestedAt annotation so its controller reconciles at
// once.
package webhook

import (
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/notification-controller/internal/httpserver"
	"github.com/ferrycd/ferry/notification-controller/internal/ttlset"
	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
)

// maxInFlight bounds the requests handled at once: each one reads and
// patches objects on the API server, so a flood must not turn into a flood
// of API calls.
const maxInFlight = 32

// maxDeliveries bounds the replay memory.
const maxDeliveries = 50_000

// Handler serves the webhook path of every Receiver.
type Handler struct {
	// Client reads Receivers (indexed with IndexReceivers) and Secrets,
	// normally from the manager's cache, and patches the annotated objects.
	Client client.Client
	// APIReader lists the objects a "*" resource selects straight from the
	// API server, so no watch is kept for kinds only a webhook touches.
	APIReader client.Reader
	Log       logr.Logger
	// NoCrossNamespaceRefs refuses resources outside the Receiver's
	// namespace.
	NoCrossNamespaceRefs bool
	// ReplayWindow is how long a delivery id is remembered; a request
	// repeating one within it is refused with 409.
	ReplayWindow time.Duration
	// GoogleKeysURL is where the keys of gcr Receivers' tokens are read;
	// empty means Google's (tests point it at their own keys).
	GoogleKeysURL string

	inFlight   chan struct{}
	deliveries *ttlset.Set[string]
	google     *googleKeys
}

// NewHandler returns a Handler ready to serve.
func NewHandler(h Handler) *Handler {
	h.inFlight = make(chan struct{}, maxInFlight)
	h.deliveries = ttlset.New[string](h.ReplayWindow, maxDeliveries)
	if h.GoogleKeysURL == "" {
		h.GoogleKeysURL = GoogleKeysURL
	}
	h.google = &googleKeys{url: h.GoogleKeysURL}
	return &h
}

// Server returns the handler as a manager Runnable listening on addr.
func (h *Handler) Server(addr string) *httpserver.Server {
	return &httpserver.Server{Name: "webhook receiver", Addr: addr, Handler: h}
}

// ServeHTTP handles one webhook call. Answers: 200 when the objects were
// annotated (or for a ping), 400 for a payload or event the Receiver does
// not accept, 401 for a bad signature or token, 404 for an unknown path, 409
// for a replayed delivery, 413 for a body over 3 MiB, 500 when an object
// could not be annotated, 503 when the Receiver is suspended or not ready.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.answer(w, "", http.StatusMethodNotAllowed, "only POST is accepted")
		return
	}
	if !strings.HasPrefix(r.URL.Path, notificationv1.ReceiverWebhookPath) {
		h.answer(w, "", http.StatusNotFound, "not found")
		return
	}
	select {
	case h.inFlight <- struct{}{}:
		defer func() { <-h.inFlight }()
	default:
		w.Header().Set("Retry-After", "1")
		h.answer(w, "", http.StatusServiceUnavailable, "too many webhook requests in flight")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, httpserver.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.answer(w, "", http.StatusRequestEntityTooLarge, "body is larger than 3 MiB")
			return
		}
		h.answer(w, "", http.StatusBadRequest, "cannot read the request body")
		return
	}
	rcv, secret, err := h.lookup(r.Context(), r.URL.Path)
	if err != nil {
		h.Log.Error(err, "cannot look up the Receiver of a webhook")
		h.answer(w, "", http.StatusInternalServerError, "cannot look up the Receiver")
		return
	}
	if rcv == nil {
		h.answer(w, "", http.StatusNotFound, "no Receiver has this webhook path")
		return
	}
	h.handle(w, r, rcv, secret, body)
}

// handle runs the checks of one Receiver and annotates its objects.
func (h *Handler) handle(w http.ResponseWriter, r *http.Request, rcv *notificationv1.Receiver, secret map[string][]byte, body []byte) {
	log := h.Log.WithValues("receiver", types.NamespacedName{Namespace: rcv.Namespace, Name: rcv.Name}.String(), "type", rcv.Spec.Type)
	token := string(secret["token"])
	if rcv.Spec.Suspend || token == "" || !conditions.IsReady(rcv) {
		log.Info("refused a webhook: the Receiver is suspended or not ready")
		h.answer(w, rcv.Spec.Type, http.StatusServiceUnavailable, "the Receiver is suspended or not ready")
		return
	}
	var v verdict
	var rej *rejection
	if rcv.Spec.Type == notificationv1.GCRReceiver {
		rej = h.checkGoogleToken(r.Context(), r.Header.Get("Authorization"), secret)
	}
	if rej == nil {
		v, rej = verify(rcv.Spec.Type, token, rcv.Spec.Events, r, body)
	}
	if rej != nil {
		log.Info("refused a webhook", "reason", rej.msg, "event", v.eventType)
		h.answer(w, rcv.Spec.Type, rej.code, rej.msg)
		return
	}
	if v.ping {
		log.Info("answered a ping", "event", v.eventType)
		h.answer(w, rcv.Spec.Type, http.StatusOK, "pong")
		return
	}
	if v.deliveryID != "" && !h.deliveries.Admit(string(rcv.UID)+"/"+v.deliveryID) {
		log.Info("refused a replayed webhook delivery", "delivery", v.deliveryID)
		h.answer(w, rcv.Spec.Type, http.StatusConflict, "this delivery was already handled")
		return
	}
	n, err := h.requestReconcile(r.Context(), rcv, time.Now().UTC().Format(time.RFC3339Nano))
	if err != nil {
		log.Error(err, "could not request the reconciliation of every resource", "annotated", n)
		h.answer(w, rcv.Spec.Type, http.StatusInternalServerError, "could not request the reconciliation of every resource")
		return
	}
	log.Info("requested reconciliation", "event", v.eventType, "objects", n)
	h.answer(w, rcv.Spec.Type, http.StatusOK, "reconciliation requested")
}

// lookup finds the Receiver whose status.webhookPath is path and reads its
// Secret's data (the token, and for gcr the email and audience). A Receiver
// whose token no longer hashes to path (the Secret was rotated and the
// status not yet updated) does not answer, so an old URL stops working as
// soon as its token is replaced.
func (h *Handler) lookup(ctx context.Context, path string) (*notificationv1.Receiver, map[string][]byte, error) {
	var list notificationv1.ReceiverList
	if err := h.Client.List(ctx, &list, client.MatchingFields{WebhookPathIndex: path}); err != nil {
		return nil, nil, err
	}
	for i := range list.Items {
		rcv := &list.Items[i]
		var secret corev1.Secret
		err := h.Client.Get(ctx, types.NamespacedName{Namespace: rcv.Namespace, Name: rcv.Spec.SecretRef.Name}, &secret)
		if client.IgnoreNotFound(err) != nil {
			return nil, nil, err
		}
		token := string(secret.Data["token"])
		if err != nil || token == "" {
			return rcv, nil, nil
		}
		if subtle.ConstantTimeCompare([]byte(rcv.GetWebhookPath(token)), []byte(path)) == 1 {
			return rcv, secret.Data, nil
		}
	}
	return nil, nil, nil
}

// answer writes a short plain-text answer and counts it.
func (h *Handler) answer(w http.ResponseWriter, typ string, code int, msg string) {
	webhooks.WithLabelValues(typ, http.StatusText(code)).Inc()
	http.Error(w, msg, code)
}
