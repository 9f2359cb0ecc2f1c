// Package kubeclient hands out the clients a controller applies objects
// with: as itself, as a tenant's ServiceAccount (impersonation), or against
// a remote cluster from a kubeconfig Secret. Clients are built once per
// identity and target cluster and reused, sharing one lazily filled
// RESTMapper per cluster, so a thousand Kustomizations or HelmReleases do not
// each rediscover the API server (Flux builds a new client and mapper on
// every reconcile).
package kubeclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/engine"
	"github.com/fluxcd/pkg/runtime/statusreaders"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/ferrycd/ferry/pkg/apis/meta"
)

// Target is a client for one identity on one cluster.
type Target struct {
	// Config is the REST config of this identity on this cluster, for
	// clients that need their own transport (Helm's kube client).
	Config *rest.Config
	Client client.Client
	Mapper apimeta.RESTMapper
	Poller *polling.StatusPoller
}

// Factory builds and caches Targets.
type Factory struct {
	base   *rest.Config
	scheme *runtime.Scheme
	mapper apimeta.RESTMapper
	// DefaultServiceAccount is impersonated when an object names none
	// (--default-service-account); empty means the controller's identity.
	DefaultServiceAccount string
	// AllowExec permits kubeconfigs with exec credential plugins
	// (--insecure-kubeconfig-exec).
	AllowExec bool

	mu      sync.Mutex
	targets map[string]*Target
	mappers map[string]apimeta.RESTMapper
}

// NewFactory returns a Factory for the cluster of cfg, sharing mapper (the
// manager's) for that cluster.
func NewFactory(cfg *rest.Config, scheme *runtime.Scheme, mapper apimeta.RESTMapper) *Factory {
	return &Factory{base: cfg, scheme: scheme, mapper: mapper,
		targets: map[string]*Target{}, mappers: map[string]apimeta.RESTMapper{}}
}

// Options name the identity and cluster of a Target.
type Options struct {
	// Namespace is the object's namespace: where its ServiceAccount and
	// kubeconfig Secret live.
	Namespace string
	// ServiceAccountName is spec.serviceAccountName.
	ServiceAccountName string
	// KubeConfig is spec.kubeConfig.
	KubeConfig *meta.KubeConfigReference
}

// Get returns the Target for opts, reading a kubeconfig Secret through
// reader when opts.KubeConfig is set.
func (f *Factory) Get(ctx context.Context, reader client.Reader, opts Options) (*Target, error) {
	sa := opts.ServiceAccountName
	if sa == "" {
		sa = f.DefaultServiceAccount
	}
	cfg := rest.CopyConfig(f.base)
	clusterKey := "local"
	if opts.KubeConfig != nil {
		data, err := f.kubeConfigData(ctx, reader, opts.Namespace, opts.KubeConfig)
		if err != nil {
			return nil, err
		}
		if cfg, err = f.restConfigFrom(data); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		clusterKey = hex.EncodeToString(sum[:])
	}
	if sa != "" {
		cfg.Impersonate = rest.ImpersonationConfig{
			UserName: fmt.Sprintf("system:serviceaccount:%s:%s", opts.Namespace, sa),
		}
	}
	key := clusterKey + "/" + cfg.Impersonate.UserName

	f.mu.Lock()
	defer f.mu.Unlock()
	if t, ok := f.targets[key]; ok {
		return t, nil
	}
	mapper, err := f.mapperFor(clusterKey, cfg)
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: f.scheme, Mapper: mapper})
	if err != nil {
		return nil, err
	}
	poller := polling.NewStatusPoller(c, mapper, polling.Options{
		CustomStatusReaders: customStatusReaders(mapper),
	})
	t := &Target{Config: cfg, Client: c, Mapper: mapper, Poller: poller}
	f.targets[key] = t
	return t, nil
}

// mapperFor returns the shared mapper of a cluster, creating a lazy one for
// a remote cluster on first use. Callers hold f.mu.
func (f *Factory) mapperFor(clusterKey string, cfg *rest.Config) (apimeta.RESTMapper, error) {
	if clusterKey == "local" && f.mapper != nil {
		return f.mapper, nil
	}
	if m, ok := f.mappers[clusterKey]; ok {
		return m, nil
	}
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	m, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	f.mappers[clusterKey] = m
	return m, nil
}

func (f *Factory) kubeConfigData(ctx context.Context, reader client.Reader, namespace string, ref *meta.KubeConfigReference) ([]byte, error) {
	key := types.NamespacedName{Namespace: namespace, Name: ref.SecretRef.Name}
	secret := &corev1.Secret{}
	if err := reader.Get(ctx, key, secret); err != nil {
		return nil, fmt.Errorf("failed to get the kubeconfig Secret '%s' named in spec.kubeConfig.secretRef: %w", key, err)
	}
	for _, k := range []string{ref.SecretRef.Key, "value", "value.yaml"} {
		if k == "" {
			continue
		}
		if data, ok := secret.Data[k]; ok {
			return data, nil
		}
		if k == ref.SecretRef.Key {
			return nil, fmt.Errorf("the kubeconfig Secret '%s' has no key '%s'", key, k)
		}
	}
	return nil, fmt.Errorf("the kubeconfig Secret '%s' has neither a 'value' nor a 'value.yaml' key", key)
}

// ErrExecNotAllowed refuses kubeconfigs that would run a program.
var ErrExecNotAllowed = errors.New("kubeconfig uses an exec credential plugin, which is refused unless the controller runs with --insecure-kubeconfig-exec")

func (f *Factory) restConfigFrom(data []byte) (*rest.Config, error) {
	raw, err := clientcmd.Load(data)
	if err != nil {
		return nil, fmt.Errorf("invalid kubeconfig: %w", err)
	}
	for _, ai := range raw.AuthInfos {
		if ai.Exec != nil && !f.AllowExec {
			return nil, ErrExecNotAllowed
		}
		if ai.AuthProvider != nil {
			return nil, errors.New("kubeconfig uses an auth-provider plugin, which is not supported")
		}
		if ai.TokenFile != "" || ai.ClientCertificate != "" || ai.ClientKey != "" {
			return nil, errors.New("kubeconfig refers to files on the controller's disk, which is refused: embed the data")
		}
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*raw, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("invalid kubeconfig: %w", err)
	}
	return cfg, nil
}

// PollerWith returns a status poller for the Target that also evaluates
// the given readers (e.g. CEL health expressions of one object). Building
// it is cheap: it reuses the Target's client and mapper.
func (t *Target) PollerWith(readers ...func(apimeta.RESTMapper) engine.StatusReader) *polling.StatusPoller {
	all := customStatusReaders(t.Mapper)
	for _, r := range readers {
		all = append(all, r(t.Mapper))
	}
	return polling.NewStatusPoller(t.Client, t.Mapper, polling.Options{CustomStatusReaders: all})
}

// customStatusReaders adds Flux's Job reader, so a Job counts as healthy
// when it completes rather than when it exists.
func customStatusReaders(mapper apimeta.RESTMapper) []engine.StatusReader {
	return []engine.StatusReader{statusreaders.NewCustomJobStatusReader(mapper)}
}
