// Package action runs Helm SDK actions for a HelmRelease: it builds the
// Helm configuration for a target identity and cluster, and wraps install,
// upgrade, test, rollback, uninstall and unlock with the spec's settings.
package action

import (
	"fmt"
	"sync"

	"github.com/go-logr/logr"
	helmaction "helm.sh/helm/v3/pkg/action"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/ferrycd/ferry/pkg/kubeclient"
)

// Configs builds Helm configurations, sharing one cached discovery client
// per target so that many releases on one cluster and identity do not each
// rediscover the API server (the mapper is the target's, already shared),
// and reusing a configuration per target and namespaces, so Helm's kube
// client keeps the OpenAPI documents it fetched to validate manifests
// instead of fetching them again for every release.
type Configs struct {
	mu        sync.Mutex
	discovery map[*kubeclient.Target]discovery.CachedDiscoveryInterface
	configs   map[configKey]*helmaction.Configuration
}

// configKey includes maxHistory because Helm's upgrade writes it into the
// configuration's release storage: releases sharing a configuration must
// agree on it.
type configKey struct {
	target                             *kubeclient.Target
	releaseNamespace, storageNamespace string
	maxHistory                         int
}

// NewConfigs returns an empty cache.
func NewConfigs() *Configs {
	return &Configs{
		discovery: map[*kubeclient.Target]discovery.CachedDiscoveryInterface{},
		configs:   map[configKey]*helmaction.Configuration{},
	}
}

// For returns a Helm configuration acting as target, making objects in
// releaseNamespace and keeping release records (at most maxHistory) as
// Secrets in storageNamespace.
func (c *Configs) For(target *kubeclient.Target, releaseNamespace, storageNamespace string, maxHistory int, log logr.Logger) (*helmaction.Configuration, error) {
	if target.Config == nil {
		return nil, fmt.Errorf("the client target has no REST config")
	}
	key := configKey{target, releaseNamespace, storageNamespace, maxHistory}
	c.mu.Lock()
	cached, ok := c.configs[key]
	c.mu.Unlock()
	if ok {
		return cached, nil
	}
	dc, err := c.discoveryFor(target)
	if err != nil {
		return nil, err
	}
	getter := &restClientGetter{cfg: target.Config, namespace: releaseNamespace, discovery: dc, mapper: target.Mapper}
	cfg := &helmaction.Configuration{}
	// The configuration outlives this reconcile; its debug lines carry the
	// release namespace, not one release's name.
	log = log.WithValues("releaseNamespace", releaseNamespace)
	debug := func(format string, v ...any) { log.V(2).Info(fmt.Sprintf(format, v...)) }
	if err := cfg.Init(getter, storageNamespace, "secret", debug); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.configs[key] = cfg
	c.mu.Unlock()
	return cfg, nil
}

func (c *Configs) discoveryFor(target *kubeclient.Target) (discovery.CachedDiscoveryInterface, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if dc, ok := c.discovery[target]; ok {
		return dc, nil
	}
	d, err := discovery.NewDiscoveryClientForConfig(target.Config)
	if err != nil {
		return nil, err
	}
	dc := memory.NewMemCacheClient(d)
	c.discovery[target] = dc
	return dc, nil
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
