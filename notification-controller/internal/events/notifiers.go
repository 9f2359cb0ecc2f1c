package events

import (
	"context"
	"fmt"
	"strings"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/notification-controller/internal/provider"
	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
)

// notifierFor returns the Provider and a notifier for it. The notifier (and
// its HTTP client with open connections) is rebuilt only when the Provider
// or one of its Secrets changed, which the resource versions tell without
// comparing contents.
func (d *Dispatcher) notifierFor(ctx context.Context, w *worker) (*notificationv1.Provider, provider.Notifier, error) {
	p := &notificationv1.Provider{}
	if err := d.Reader.Get(ctx, w.key, p, client.UnsafeDisableDeepCopy); err != nil {
		return nil, nil, fmt.Errorf("reading Provider %s: %w", w.key, err)
	}
	var (
		secrets provider.Secrets
		fp      strings.Builder
	)
	fp.WriteString(string(p.UID) + "/" + p.ResourceVersion)
	for _, ref := range []struct {
		field string
		ref   *fluxmeta.LocalObjectReference
		into  **corev1.Secret
	}{
		{"spec.secretRef", p.Spec.SecretRef, &secrets.Auth},
		{"spec.certSecretRef", p.Spec.CertSecretRef, &secrets.Cert},
		{"spec.proxySecretRef", p.Spec.ProxySecretRef, &secrets.Proxy},
	} {
		if ref.ref == nil {
			fp.WriteString("/-")
			continue
		}
		s := &corev1.Secret{}
		key := types.NamespacedName{Namespace: p.Namespace, Name: ref.ref.Name}
		if err := d.Reader.Get(ctx, key, s, client.UnsafeDisableDeepCopy); err != nil {
			return p, nil, fmt.Errorf("reading the Secret of %s: %w", ref.field, err)
		}
		*ref.into = s
		fp.WriteString("/" + string(s.UID) + "/" + s.ResourceVersion)
	}
	if fp.String() == w.fingerprint {
		return p, w.notifier, w.buildErr
	}
	cfg, err := provider.ConfigFor(p, secrets)
	var n provider.Notifier
	if err == nil {
		n, err = provider.New(cfg)
	}
	w.fingerprint, w.notifier, w.buildErr = fp.String(), n, err
	w.secrets = []string{cfg.Token, cfg.Password, cfg.Address}
	return p, n, err
}
