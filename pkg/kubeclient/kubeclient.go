// Package kubeclient hands out the clients a controller applies objects
// with: as itself, as a tenant's ServiceAccount (impersonation), or against
// a remote cluster from a kubeconfig Secret. Clients are built once per
// identity and target cluster and reused, sharing one lazily filled
// RESTMapper per cluster, so a thousand Kustomizations or HelmReleases do not
// each rediscover the API server (Flux builds a new client and mapper on
// every reconcile).
//
// The cache is bounded: a kubeconfig Secret that is rotated gives a new
// cluster key, and the old entry would otherwise be kept forever with its
// client, transport and RESTMapper. Targets live in an LRU
// (hashicorp/golang-lru's simplelru, under the Factory's lock) of at most
// MaxTargets entries, a Target unused for IdleTimeout is dropped at the next
// Get, and a remote cluster's mapper is dropped with the last Target that
// uses it. A caller holding an evicted Target may go on using it; the next
// Get builds a fresh one.
package kubeclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/engine"
	"github.com/fluxcd/pkg/runtime/statusreaders"
	"github.com/hashicorp/golang-lru/v2/simplelru"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/ferrycd/ferry/pkg/apis/meta"
	"github.com/ferrycd/ferry/pkg/health"
)

// Target is a client for one identity on one cluster.
type Target struct {
	// Config is the REST config of this identity on this cluster, for
	// clients that need their own transport (Helm's kube client).
	Config *rest.Config
	Client client.Client
	Mapper apimeta.RESTMapper
	Poller *polling.StatusPoller
	// Local is true for the controller's own cluster (no kubeconfig), whose
	// API the controller can watch itself.
	Local bool
}

// Defaults of the cache bounds.
const (
	// DefaultMaxTargets is far more identities and clusters than one
	// controller serves at once, and small enough that the clients stay a
	// few megabytes.
	DefaultMaxTargets = 256
	// DefaultIdleTimeout drops a Target that no object used for an hour:
	// every object reconciles at least that often in practice, so only the
	// identities of deleted objects and rotated kubeconfigs go.
	DefaultIdleTimeout = time.Hour
)

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
	// IdleTimeout is how long an unused Target is kept; set before the
	// first Get.
	IdleTimeout time.Duration
	// OnEvict, when set, is called with each Target dropped from the cache
	// (under the Factory's lock, so it must not call back into it), for
	// callers that keep state per Target.
	OnEvict func(*Target)

	mu      sync.Mutex
	now     func() time.Time
	targets *simplelru.LRU[string, *entry]
	// mappers holds remote clusters' mappers with the number of cached
	// Targets using each.
	mappers map[string]*sharedMapper
}

type entry struct {
	target     *Target
	clusterKey string
	lastUsed   time.Time
}

type sharedMapper struct {
	mapper apimeta.RESTMapper
	users  int
}

// NewFactory returns a Factory for the cluster of cfg, sharing mapper (the
// manager's) for that cluster, caching at most DefaultMaxTargets Targets.
func NewFactory(cfg *rest.Config, scheme *runtime.Scheme, mapper apimeta.RESTMapper) *Factory {
	return NewBoundedFactory(cfg, scheme, mapper, DefaultMaxTargets)
}

// NewBoundedFactory is NewFactory caching at most maxTargets Targets.
func NewBoundedFactory(cfg *rest.Config, scheme *runtime.Scheme, mapper apimeta.RESTMapper, maxTargets int) *Factory {
	f := &Factory{base: cfg, scheme: scheme, mapper: mapper, IdleTimeout: DefaultIdleTimeout,
		now: time.Now, mappers: map[string]*sharedMapper{}}
	// NewLRU fails only for a size below one.
	f.targets, _ = simplelru.NewLRU[string, *entry](max(maxTargets, 1), f.evicted)
	return f
}

// Len is the number of cached Targets.
func (f *Factory) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.targets.Len()
}

// evicted releases what an entry dropped from the LRU holds. Callers hold
// f.mu (the LRU calls it from Add and Remove).
func (f *Factory) evicted(_ string, e *entry) {
	if m, ok := f.mappers[e.clusterKey]; ok {
		if m.users--; m.users <= 0 {
			delete(f.mappers, e.clusterKey)
		}
	}
	if f.OnEvict != nil {
		f.OnEvict(e.target)
	}
}

// expire drops the Targets unused for longer than IdleTimeout, oldest
// first. Callers hold f.mu.
func (f *Factory) expire(now time.Time) {
	if f.IdleTimeout <= 0 {
		return
	}
	for {
		key, e, ok := f.targets.GetOldest()
		if !ok || now.Sub(e.lastUsed) < f.IdleTimeout {
			return
		}
		f.targets.Remove(key)
	}
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
	now := f.now()
	f.expire(now)
	if e, ok := f.targets.Get(key); ok {
		e.lastUsed = now
		return e.target, nil
	}
	mapper, err := f.mapperFor(clusterKey, cfg)
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: f.scheme, Mapper: mapper})
	if err != nil {
		if m, ok := f.mappers[clusterKey]; ok && m.users == 0 {
			delete(f.mappers, clusterKey)
		}
		return nil, err
	}
	poller := polling.NewStatusPoller(c, mapper, polling.Options{
		CustomStatusReaders: customStatusReaders(mapper),
	})
	t := &Target{Config: cfg, Client: c, Mapper: mapper, Poller: poller, Local: clusterKey == "local"}
	if m, ok := f.mappers[clusterKey]; ok {
		m.users++
	}
	f.targets.Add(key, &entry{target: t, clusterKey: clusterKey, lastUsed: now})
	return t, nil
}

// mapperFor returns the shared mapper of a cluster, creating a lazy one for
// a remote cluster on first use. Callers hold f.mu.
func (f *Factory) mapperFor(clusterKey string, cfg *rest.Config) (apimeta.RESTMapper, error) {
	if clusterKey == "local" && f.mapper != nil {
		return f.mapper, nil
	}
	if m, ok := f.mappers[clusterKey]; ok {
		return m.mapper, nil
	}
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	m, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	f.mappers[clusterKey] = &sharedMapper{mapper: m}
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
//
// The given readers come first: the poller takes the first reader that
// supports a kind, so a user's expressions override the built-in rules.
func (t *Target) PollerWith(readers ...func(apimeta.RESTMapper) engine.StatusReader) *polling.StatusPoller {
	var all []engine.StatusReader
	for _, r := range readers {
		all = append(all, r(t.Mapper))
	}
	all = append(all, customStatusReaders(t.Mapper)...)
	return polling.NewStatusPoller(t.Client, t.Mapper, polling.Options{CustomStatusReaders: all})
}

// customStatusReaders adds Flux's Job reader, so a Job counts as healthy
// when it completes rather than when it exists, the rules for secret
// operators' objects (ExternalSecret, SealedSecret) that kstatus cannot read,
// and the Rollout reader, which waits for a Rollout to see its workloadRef
// Deployment's change.
func customStatusReaders(mapper apimeta.RESTMapper) []engine.StatusReader {
	return []engine.StatusReader{statusreaders.NewCustomJobStatusReader(mapper), health.Reader(mapper), health.RolloutReader(mapper)}
}
