package kustomization

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
)

// buildCache remembers each Kustomization's last successful build, so an
// interval reconcile whose every build input is unchanged skips kustomize,
// which is most of an unchanged reconcile's CPU (BenchmarkUnchangedReconcile):
// at 10,000 Kustomizations that is the controller's steady state.
//
// A build is reused only under the same key: the Kustomization's UID and
// generation (every spec field), the artifact digest (every file the build
// reads), the resolved postBuild variables and the decryption keys. A
// build that fetched anything over HTTP is never remembered, since the
// digest does not pin it. The objects are kept as JSON, a fraction of the
// memory of the decoded maps, and decoded afresh for each reuse, since the
// apply goes on to label and change them.
type buildCache struct {
	mu     sync.Mutex
	builds map[types.NamespacedName]cachedBuild
}

type cachedBuild struct {
	key     string
	objects [][]byte
}

// buildKey digests the inputs of obj's build besides its spec: the
// artifact digest, the postBuild variables and the decryption keys.
func buildKey(obj *kustomizev1.Kustomization, digest string, vars map[string]string, keys map[string][]byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%s\x00", obj.UID, obj.Generation, digest)
	for _, k := range sortedKeys(vars) {
		fmt.Fprintf(h, "v%d:%s=%d:%s\x00", len(k), k, len(vars[k]), vars[k])
	}
	for _, k := range sortedKeys(keys) {
		fmt.Fprintf(h, "k%d:%s=%d:", len(k), k, len(keys[k]))
		h.Write(keys[k])
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// get returns a fresh copy of obj's last build when it was made under key.
func (c *buildCache) get(obj *kustomizev1.Kustomization, key string) ([]*unstructured.Unstructured, bool) {
	c.mu.Lock()
	b, ok := c.builds[types.NamespacedName{Namespace: obj.Namespace, Name: obj.Name}]
	c.mu.Unlock()
	if !ok || b.key != key {
		return nil, false
	}
	objects := make([]*unstructured.Unstructured, 0, len(b.objects))
	for _, data := range b.objects {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			return nil, false
		}
		objects = append(objects, u)
	}
	return objects, true
}

// put remembers objects as obj's build under key.
func (c *buildCache) put(obj *kustomizev1.Kustomization, key string, objects []*unstructured.Unstructured) {
	b := cachedBuild{key: key, objects: make([][]byte, 0, len(objects))}
	for _, o := range objects {
		data, err := json.Marshal(o.Object)
		if err != nil {
			c.forget(obj)
			return
		}
		b.objects = append(b.objects, data)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.builds == nil {
		c.builds = map[types.NamespacedName]cachedBuild{}
	}
	c.builds[types.NamespacedName{Namespace: obj.Namespace, Name: obj.Name}] = b
}

// forget drops obj's build.
func (c *buildCache) forget(obj *kustomizev1.Kustomization) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.builds, types.NamespacedName{Namespace: obj.Namespace, Name: obj.Name})
}
