package workload

import (
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// deletion is one object seen going away.
type deletion struct {
	key string
	at  time.Time
}

// deletionWatch records every deletion of a ConfigMap or HelmRelease in the
// workload's namespace while a scenario runs. It uses informers, which
// re-list after a broken watch (an API server restart), so a deletion that
// happened while the watch was down still shows up, as a tombstone, when the
// watch comes back; its time is then the time it was noticed, which only
// makes the judgement against Git's history more lenient.
type deletionWatch struct {
	stopCh chan struct{}
	once   sync.Once

	mu   sync.Mutex
	seen []deletion
}

var (
	configMapsGVR   = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	helmReleasesGVR = schema.GroupVersionResource{Group: "helm.toolkit.fluxcd.io", Version: "v2", Resource: "helmreleases"}
)

func startDeletionWatch(cfg *rest.Config, ns string) (*deletionWatch, error) {
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	d := &deletionWatch{stopCh: make(chan struct{})}
	f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dc, 0, ns, nil)
	for gvr, kind := range map[schema.GroupVersionResource]string{configMapsGVR: "ConfigMap", helmReleasesGVR: "HelmRelease"} {
		if _, err := f.ForResource(gvr).Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			DeleteFunc: func(obj any) { d.record(kind, obj) },
		}); err != nil {
			return nil, err
		}
	}
	f.Start(d.stopCh)
	for gvr, ok := range f.WaitForCacheSync(d.stopCh) {
		if !ok {
			d.stop()
			return nil, &syncError{gvr}
		}
	}
	return d, nil
}

type syncError struct{ gvr schema.GroupVersionResource }

func (e *syncError) Error() string { return "the deletion watch did not sync " + e.gvr.String() }

func (d *deletionWatch) record(kind string, obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	d.mu.Lock()
	d.seen = append(d.seen, deletion{key: key(kind, m.GetName()), at: time.Now()})
	d.mu.Unlock()
}

// take returns the deletions recorded since the last take.
func (d *deletionWatch) take() []deletion {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.seen
	d.seen = nil
	return out
}

func (d *deletionWatch) stop() { d.once.Do(func() { close(d.stopCh) }) }
