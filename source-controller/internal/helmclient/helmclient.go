// Package helmclient builds the clients that talk to the repository a
// HelmRepository names, from the Secrets its spec refers to: the HTTP getter
// of a chart repository (type default) and the registry client of an OCI
// registry (type oci). The HelmRepository reconciler fetches its index with
// them and the HelmChart reconciler downloads charts and dependencies with
// the same credentials, so both build them here rather than one importing
// the other's reconciler.
package helmclient

import (
	"context"
	"crypto/tls"
	"fmt"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/source-controller/internal/helm"
	"github.com/ferrycd/ferry/source-controller/internal/oci"
	"github.com/ferrycd/ferry/source-controller/internal/tlsconfig"
)

// Getter builds the HTTP getter for a HelmRepository of type default from
// its Secrets: basic auth from spec.secretRef, TLS from spec.certSecretRef or,
// as Flux still allows, from TLS keys in spec.secretRef. HelmCharts use it to
// download charts with the repository's credentials.
func Getter(ctx context.Context, c client.Reader, obj *sourcev1.HelmRepository) (*helm.Getter, error) {
	g := &helm.Getter{PassCredentials: obj.Spec.PassCredentials, Timeout: obj.GetTimeout()}
	auth, err := secretData(ctx, c, obj.Namespace, obj.Spec.SecretRef, "spec.secretRef")
	if err != nil {
		return nil, err
	}
	if auth != nil {
		g.Username, g.Password = string(auth["username"]), string(auth["password"])
		if (g.Username == "") != (g.Password == "") {
			return nil, fmt.Errorf("secret '%s' named in spec.secretRef must hold both 'username' and 'password'", obj.Spec.SecretRef.Name)
		}
	}
	if g.TLS, err = tlsFrom(ctx, c, obj, auth); err != nil {
		return nil, err
	}
	return g, nil
}

// RegistryClient builds the registry client for a HelmRepository of type oci:
// a docker config JSON or username and password from spec.secretRef, TLS
// from spec.certSecretRef, plain HTTP with spec.insecure.
func RegistryClient(ctx context.Context, c client.Reader, obj *sourcev1.HelmRepository) (*oci.Client, error) {
	opts := oci.Options{Insecure: obj.Spec.Insecure}
	auth, err := secretData(ctx, c, obj.Namespace, obj.Spec.SecretRef, "spec.secretRef")
	if err != nil {
		return nil, err
	}
	if auth != nil {
		kc, err := oci.KeychainFromSecret(auth)
		if err != nil {
			return nil, fmt.Errorf("invalid credentials in secret '%s' named in spec.secretRef: %w", obj.Spec.SecretRef.Name, err)
		}
		opts.Keychain = kc
	}
	if opts.TLS, err = tlsFrom(ctx, c, obj, auth); err != nil {
		return nil, err
	}
	return oci.New(opts), nil
}

// tlsFrom reads TLS settings from spec.certSecretRef, or else from TLS keys
// in the spec.secretRef data auth.
func tlsFrom(ctx context.Context, c client.Reader, obj *sourcev1.HelmRepository, auth map[string][]byte) (*tls.Config, error) {
	field, data := "spec.secretRef", auth
	if obj.Spec.CertSecretRef != nil {
		var err error
		field = "spec.certSecretRef"
		if data, err = secretData(ctx, c, obj.Namespace, obj.Spec.CertSecretRef, field); err != nil {
			return nil, err
		}
	}
	cfg, err := tlsconfig.FromSecret(data)
	if err != nil {
		return nil, fmt.Errorf("invalid TLS settings in the secret named in %s: %w", field, err)
	}
	return cfg, nil
}

// secretData returns the data of the Secret ref names, nil when ref is nil.
func secretData(ctx context.Context, c client.Reader, ns string, ref *fluxmeta.LocalObjectReference, field string) (map[string][]byte, error) {
	if ref == nil {
		return nil, nil
	}
	secret := &corev1.Secret{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, secret); err != nil {
		return nil, fmt.Errorf("failed to get secret '%s/%s' named in %s: %w", ns, ref.Name, field, err)
	}
	return secret.Data, nil
}
