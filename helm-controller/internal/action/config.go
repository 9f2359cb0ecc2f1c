// Package action runs Helm SDK actions for a HelmRelease: it builds the
// Helm configuration for a target identity and cluster, and wraps install,
// upgrade, test, rollback, uninstall and unlock with the spec's settings.
package action

import (
	"fmt"
	"io"
	"sync"

	"github.com/go-logr/logr"
	helmaction "helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/kube"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/ferrycd/ferry/pkg/kubeclient"
)

// Configs builds Helm configurations. What is costly to rediscover is
// shared: one cached discovery client and one clientset per target, so
// many releases on one cluster and identity do not each rediscover the API
// server (the mapper is the target's, already shared), or one discovery
// client for the whole local cluster (ShareLocalDiscovery), one kubectl
// factory per target and release namespace, and per target the kinds whose fields
// the API server validates itself, so Helm's validation of manifests does
// not fetch and parse OpenAPI documents again for every release
// (validatingFactory).
//
// The Helm configuration itself is new on every call, for two reasons.
// Helm caches Capabilities on it for its whole life, so a long-lived one
// never saw a CRD installed after its first render and a chart gated on
// .Capabilities.APIVersions.Has never rendered the object; a fresh one
// rediscovers at its first render, that is at each install or upgrade (and
// never in a reconcile that changes nothing). And Helm writes to its
// configuration while it runs (Capabilities, the storage's MaxHistory, the
// kube client's lazily made clientset), so releases reconciled at the same
// time must not share one.
type Configs struct {
	mu        sync.Mutex
	targets   map[*kubeclient.Target]*shared
	factories map[factoryKey]cmdutil.Factory
	// local, when set (ShareLocalDiscovery), is the discovery of every
	// target on the local cluster.
	local *watchedDiscovery
	// index, when set, answers ForUnrecorded.
	index *ReleaseIndex
}

// shared is what every configuration on one target reuses; all of it is
// safe for concurrent use.
type shared struct {
	discovery discovery.CachedDiscoveryInterface
	// changes is set when discovery is the local cluster's shared one:
	// Helm's writes of CRDs and APIServices count on it.
	changes   *APIChanges
	clientset kubernetes.Interface
	// supported is what the target's API server validates itself
	// (validatingFactory).
	supported *fieldValidationCache
}

type factoryKey struct {
	target           *kubeclient.Target
	releaseNamespace string
}

// NewConfigs returns an empty cache.
func NewConfigs() *Configs {
	return &Configs{
		targets:   map[*kubeclient.Target]*shared{},
		factories: map[factoryKey]cmdutil.Factory{},
	}
}

// ShareLocalDiscovery makes every configuration on the local cluster use
// one discovery client of cfg (the controller's own identity), invalidated
// only on changes (watchedDiscovery). Call it before the first For.
func (c *Configs) ShareLocalDiscovery(cfg *rest.Config, changes *APIChanges) error {
	d, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.local = newWatchedDiscovery(memory.NewMemCacheClient(d), changes)
	return nil
}

// For returns a new Helm configuration acting as target, making objects in
// releaseNamespace and keeping release records as Secrets in
// storageNamespace. It belongs to one reconcile: use it for that
// reconcile's actions only.
func (c *Configs) For(target *kubeclient.Target, releaseNamespace, storageNamespace string, log logr.Logger) (*helmaction.Configuration, error) {
	return c.config(target, releaseNamespace, storageNamespace, log, false)
}

// ForUnrecorded is For for a HelmRelease whose status records no release:
// on the local cluster, when the ReleaseIndex (UseReleaseIndex) holds no
// record of the release either, its storage starts empty instead of
// listing the release's Secrets.
func (c *Configs) ForUnrecorded(target *kubeclient.Target, releaseNamespace, storageNamespace string, log logr.Logger) (*helmaction.Configuration, error) {
	return c.config(target, releaseNamespace, storageNamespace, log, true)
}

// UseReleaseIndex makes ForUnrecorded consult index.
func (c *Configs) UseReleaseIndex(index *ReleaseIndex) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.index = index
}

func (c *Configs) config(target *kubeclient.Target, releaseNamespace, storageNamespace string, log logr.Logger, unrecorded bool) (*helmaction.Configuration, error) {
	if target.Config == nil {
		return nil, fmt.Errorf("the client target has no REST config")
	}
	sh, factory, index, err := c.lookup(target, releaseNamespace)
	if err != nil {
		return nil, err
	}
	log = log.WithValues("releaseNamespace", releaseNamespace, "storageNamespace", storageNamespace)
	debug := func(format string, v ...any) { log.V(2).Info(fmt.Sprintf(format, v...)) }
	secrets := driver.NewSecrets(sh.clientset.CoreV1().Secrets(storageNamespace))
	secrets.Log = debug
	memo := newMemoStorage(secrets)
	if unrecorded && target.Local && index != nil {
		memo.none = func(name string) bool { return index.hasNone(storageNamespace, name) }
	}
	base := &kube.Client{Factory: factory, Log: debug}
	var kubeClient kube.Interface = base
	if sh.changes != nil {
		kubeClient = &countingKubeClient{Client: base, changes: sh.changes}
	}
	return &helmaction.Configuration{
		RESTClientGetter: factory,
		KubeClient:       kubeClient,
		Releases:         storage.Init(memo),
		Log:              debug,
		HookOutputFunc:   func(_, _, _ string) io.Writer { return io.Discard },
	}, nil
}

// lookup returns target's shared clients and the factory for
// releaseNamespace, making them on first use.
func (c *Configs) lookup(target *kubeclient.Target, releaseNamespace string) (*shared, cmdutil.Factory, *ReleaseIndex, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sh, ok := c.targets[target]
	if !ok {
		cs, err := kubernetes.NewForConfig(target.Config)
		if err != nil {
			return nil, nil, nil, err
		}
		sh = &shared{clientset: cs, supported: newFieldValidationCache()}
		if target.Local && c.local != nil {
			sh.discovery, sh.changes = c.local, c.local.changes
		} else {
			d, err := discovery.NewDiscoveryClientForConfig(target.Config)
			if err != nil {
				return nil, nil, nil, err
			}
			sh.discovery = memory.NewMemCacheClient(d)
		}
		c.targets[target] = sh
	}
	key := factoryKey{target, releaseNamespace}
	f, ok := c.factories[key]
	if !ok {
		f = &validatingFactory{Factory: cmdutil.NewFactory(&restClientGetter{cfg: target.Config, namespace: releaseNamespace,
			discovery: sh.discovery, mapper: target.Mapper}), supported: sh.supported}
		c.factories[key] = f
	}
	return sh, f, c.index, nil
}

// Forget drops what is kept for target: the client factory evicts Targets
// it no longer caches (kubeclient.Factory.OnEvict), and what is kept per
// Target here must go with them, or a rotated kubeconfig would still leak
// its discovery client and factories.
func (c *Configs) Forget(target *kubeclient.Target) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.targets, target)
	for key := range c.factories {
		if key.target == target {
			delete(c.factories, key)
		}
	}
}

// restClientGetter hands Helm the target's config, mapper and shared
// discovery client, with the release namespace as default namespace.
type restClientGetter struct {
	cfg       *rest.Config
	namespace string
	discovery discovery.CachedDiscoveryInterface
	mapper    apimeta.RESTMapper
}

func (g *restClientGetter) ToRESTConfig() (*rest.Config, error) { return rest.CopyConfig(g.cfg), nil }

func (g *restClientGetter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	return g.discovery, nil
}

func (g *restClientGetter) ToRESTMapper() (apimeta.RESTMapper, error) { return g.mapper, nil }

func (g *restClientGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(&clientcmd.ClientConfigLoadingRules{},
		&clientcmd.ConfigOverrides{Context: clientcmdContext(g.namespace)})
}

func clientcmdContext(namespace string) clientcmdapi.Context {
	return clientcmdapi.Context{Namespace: namespace}
}
