package kustomization

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	crsource "sigs.k8s.io/controller-runtime/pkg/source"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
)

// Owner labels the ssa library sets on every applied object; the drift
// watches select on the first, so only managed objects are cached.
const (
	ownerNameLabel      = "kustomize.toolkit.fluxcd.io/name"
	ownerNamespaceLabel = "kustomize.toolkit.fluxcd.io/namespace"
)

// driftWatcher notices hand edits of applied objects within moments, so
// self-heal does not wait for the next interval, and remembers what each
// Kustomization applied last, so an unchanged reconcile can skip the
// dry-runs and the apply entirely.
//
// Memory stays bounded: one metadata-only informer per GroupVersionKind
// that some inventory holds, started when an apply first needs it, listing
// only objects with the owner label, and a transform that keeps just the
// name, the owner labels, the resourceVersion and who wrote last.
type driftWatcher struct {
	client metadata.Interface
	mapper meta.RESTMapper
	events chan event.GenericEvent

	mu        sync.Mutex
	ctx       context.Context
	informers map[schema.GroupVersionKind]toolscache.SharedIndexInformer
	applied   map[types.NamespacedName]*appliedState
	// dirty marks Kustomizations whose objects changed since their last
	// apply; an unchanged reconcile is skipped only when clean.
	dirty map[types.NamespacedName]bool
}

// appliedState is what one Kustomization's last successful apply left.
type appliedState struct {
	// uid tells a Kustomization deleted and created again from this one.
	uid        types.UID
	digest     string
	hash       string
	generation int64
	// objects holds the applied objects' keys; a delete of one is drift.
	objects map[object.ObjMetadata]bool
	// changes is the last change set, reused as this reconcile's when the
	// apply is skipped (health checks wait for its entries).
	changes *ssa.ChangeSet
	// applied holds, per object, the hash of what was applied and the UID
	// the apply answered with: an object whose build did not change and
	// that nobody edited since needs no request at all (applyObjects).
	applied map[object.ObjMetadata]objectApplied
}

// objectApplied is what the last apply of one object left.
type objectApplied struct {
	hash uint64
	uid  types.UID
}

func newDriftWatcher(cfg *rest.Config, mapper meta.RESTMapper) (*driftWatcher, error) {
	mc, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &driftWatcher{
		client:    mc,
		mapper:    mapper,
		events:    make(chan event.GenericEvent, 1024),
		informers: map[schema.GroupVersionKind]toolscache.SharedIndexInformer{},
		applied:   map[types.NamespacedName]*appliedState{},
		dirty:     map[types.NamespacedName]bool{},
	}, nil
}

// setupDrift adds the drift watches to the controller: a drifted object
// enqueues the Kustomization its owner labels name.
func (r *Reconciler) setupDrift(mgr ctrl.Manager, b *builder.Builder) (*builder.Builder, error) {
	d, err := newDriftWatcher(mgr.GetConfig(), mgr.GetRESTMapper())
	if err != nil {
		return nil, err
	}
	r.drift = d
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		d.mu.Lock()
		d.ctx = ctx
		d.mu.Unlock()
		<-ctx.Done()
		return nil
	})); err != nil {
		return nil, err
	}
	// What is remembered of a Kustomization goes with it.
	forget := handler.Funcs{DeleteFunc: func(_ context.Context, e event.DeleteEvent, _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		if k, ok := e.Object.(*kustomizev1.Kustomization); ok {
			d.forget(k)
			r.builds.forget(k)
		}
	}}
	return b.WatchesRawSource(crsource.Channel(d.events, &handler.EnqueueRequestForObject{})).
		Watches(&kustomizev1.Kustomization{}, forget), nil
}

// watch starts the informers the objects' kinds still lack.
func (d *driftWatcher) watch(objects []*unstructured.Unstructured) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx == nil {
		return fmt.Errorf("drift watches are not running yet")
	}
	for _, o := range objects {
		gvk := o.GroupVersionKind()
		if _, ok := d.informers[gvk]; ok {
			continue
		}
		m, err := d.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return err
		}
		inf := metadatainformer.NewFilteredMetadataInformer(d.client, m.Resource, metav1.NamespaceAll, 0,
			toolscache.Indexers{}, func(lo *metav1.ListOptions) { lo.LabelSelector = ownerNameLabel }).Informer()
		if err := inf.SetTransform(slim); err != nil {
			return err
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			UpdateFunc: func(oldObj, newObj any) { d.onUpdate(gvk, oldObj, newObj) },
			DeleteFunc: func(obj any) { d.onDelete(gvk, obj) },
		}); err != nil {
			return err
		}
		d.informers[gvk] = inf
		go inf.Run(d.ctx.Done())
	}
	return nil
}

// synced reports whether the informers of every kind in objects have
// listed their objects, so a change is certain to be seen.
func (d *driftWatcher) synced(objects []*unstructured.Unstructured) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, o := range objects {
		inf, ok := d.informers[o.GroupVersionKind()]
		if !ok || !inf.HasSynced() {
			return false
		}
	}
	return true
}

// slim keeps what drift decisions need and drops the rest of the metadata
// (managedFields' field sets above all), which bounds the cache's memory.
func slim(obj any) (any, error) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	out := &metav1.PartialObjectMetadata{TypeMeta: m.TypeMeta}
	out.Name, out.Namespace, out.ResourceVersion, out.UID = m.Name, m.Namespace, m.ResourceVersion, m.UID
	out.DeletionTimestamp = m.DeletionTimestamp
	out.Labels = map[string]string{ownerNameLabel: m.Labels[ownerNameLabel], ownerNamespaceLabel: m.Labels[ownerNamespaceLabel]}
	out.Annotations = keepKeys(m.Annotations, nil)
	out.Labels = keepKeys(m.Labels, out.Labels)
	if _, ok := m.Annotations[corev1.LastAppliedConfigAnnotation]; ok {
		// Only its presence matters (it asks for a metadata cleanup), not
		// its value, which holds a whole copy of the object.
		if out.Annotations == nil {
			out.Annotations = map[string]string{}
		}
		out.Annotations[corev1.LastAppliedConfigAnnotation] = ""
	}
	for _, f := range m.ManagedFields {
		if f.Subresource == "" {
			out.ManagedFields = append(out.ManagedFields, metav1.ManagedFieldsEntry{Manager: f.Manager, Operation: f.Operation, Time: f.Time})
		}
	}
	return out, nil
}

// editedByOthers reports whether a change of an object's metadata from old
// to cur was made by someone other than fieldManager: the resourceVersion
// moved and some other manager wrote the object itself (not a status
// subresource) no earlier than the controller's last apply. The
// controller's own applies, and status updates by the object's controller,
// are not drift, so they cause no reconcile and no loop. Nor is an object
// being deleted: whoever deletes it (a prune, a parent's teardown, a
// person) is seen when it is gone, and reapplying before then fails.
func editedByOthers(old, cur *metav1.PartialObjectMetadata, fieldManager string) bool {
	if old.ResourceVersion == cur.ResourceVersion || cur.DeletionTimestamp != nil {
		return false
	}
	var ours *metav1.Time
	for _, f := range cur.ManagedFields {
		if f.Manager == fieldManager && f.Subresource == "" {
			ours = f.Time
		}
	}
	for _, f := range cur.ManagedFields {
		if f.Manager == fieldManager || f.Subresource != "" {
			continue
		}
		if ours == nil || f.Time == nil || !f.Time.Before(ours) {
			return true
		}
	}
	return false
}

// selectorKeys are the labels and annotations the apply's selectors look at
// on the live object (exclusions, force); slim keeps them so the apply can
// decide from the cache without reading the object.
var selectorKeys = []string{
	kustomizev1.ReconcileAnnotation, kustomizev1.SSAAnnotation, kustomizev1.ForceAnnotation, kustomizev1.PruneAnnotation,
}

// keepKeys copies the selectorKeys present in from into into (allocated
// when nil and something is to be kept).
func keepKeys(from, into map[string]string) map[string]string {
	for _, k := range selectorKeys {
		if v, ok := from[k]; ok {
			if into == nil {
				into = map[string]string{}
			}
			into[k] = v
		}
	}
	return into
}

func (d *driftWatcher) onUpdate(gvk schema.GroupVersionKind, oldObj, newObj any) {
	old, ok1 := oldObj.(*metav1.PartialObjectMetadata)
	cur, ok2 := newObj.(*metav1.PartialObjectMetadata)
	if ok1 && ok2 && editedByOthers(old, cur, fieldManager) {
		d.drifted(gvk, cur)
	}
}

func (d *driftWatcher) onDelete(gvk schema.GroupVersionKind, obj any) {
	if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
		d.drifted(gvk, m)
	}
}

// drifted marks the owner of m dirty and enqueues it, when m is one of the
// objects its last apply holds (a prune of an object that left Git is not
// drift).
func (d *driftWatcher) drifted(gvk schema.GroupVersionKind, m *metav1.PartialObjectMetadata) {
	owner := types.NamespacedName{Namespace: m.Labels[ownerNamespaceLabel], Name: m.Labels[ownerNameLabel]}
	if owner.Name == "" {
		return
	}
	key := object.ObjMetadata{Namespace: m.Namespace, Name: m.Name, GroupKind: gvk.GroupKind()}
	d.mu.Lock()
	st := d.applied[owner]
	if st == nil || !st.objects[key] {
		d.mu.Unlock()
		return
	}
	d.dirty[owner] = true
	ctx := d.ctx
	d.mu.Unlock()
	k := &kustomizev1.Kustomization{}
	k.Namespace, k.Name = owner.Namespace, owner.Name
	select {
	case d.events <- event.GenericEvent{Object: k}:
	case <-ctx.Done():
	}
}

// unchanged returns the last change set when obj's build is what its last
// apply applied and none of those objects changed since: the reconcile
// then needs no dry-run and no write. Nil means apply.
func (d *driftWatcher) unchanged(obj *kustomizev1.Kustomization, digest, hash string) *ssa.ChangeSet {
	key := client.ObjectKeyFromObject(obj)
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.applied[key]
	if !st.same(obj, digest, hash) || d.dirty[key] {
		return nil
	}
	return st.changes
}

// sameBuild reports whether obj's build is the one last applied, with or
// without drift since; warn mode then reports instead of applying.
func (d *driftWatcher) sameBuild(obj *kustomizev1.Kustomization, digest, hash string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.applied[client.ObjectKeyFromObject(obj)]
	return st.same(obj, digest, hash)
}

// same reports whether obj at this digest and build is what st applied.
func (st *appliedState) same(obj *kustomizev1.Kustomization, digest, hash string) bool {
	return st != nil && st.uid == obj.UID && st.digest == digest && st.hash == hash && st.generation == obj.Generation
}

// lastChanges returns the change set of obj's last apply, nil without one.
func (d *driftWatcher) lastChanges(obj *kustomizev1.Kustomization) *ssa.ChangeSet {
	d.mu.Lock()
	defer d.mu.Unlock()
	if st := d.applied[client.ObjectKeyFromObject(obj)]; st != nil {
		return st.changes
	}
	return nil
}

// begin clears obj's dirty mark as a full apply or drift report starts:
// edits made from now on mark it again.
func (d *driftWatcher) begin(obj *kustomizev1.Kustomization) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.dirty, client.ObjectKeyFromObject(obj))
}

// record remembers a successful apply of obj; applied holds what is known
// of each object applied (nil when nothing is).
func (d *driftWatcher) record(obj *kustomizev1.Kustomization, digest, hash string, cs *ssa.ChangeSet, applied map[object.ObjMetadata]objectApplied) {
	st := &appliedState{uid: obj.UID, digest: digest, hash: hash, generation: obj.Generation, changes: cs, objects: map[object.ObjMetadata]bool{}, applied: applied}
	for _, e := range cs.Entries {
		st.objects[e.ObjMetadata] = true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.applied[client.ObjectKeyFromObject(obj)] = st
}

// lastApplied returns what obj's last apply left of each object, nil when
// nothing is remembered of this Kustomization (a restart, a new UID).
func (d *driftWatcher) lastApplied(obj *kustomizev1.Kustomization) map[object.ObjMetadata]objectApplied {
	d.mu.Lock()
	defer d.mu.Unlock()
	if st := d.applied[client.ObjectKeyFromObject(obj)]; st != nil && st.uid == obj.UID {
		return st.applied
	}
	return nil
}

// waitSynced starts the watches of the objects' kinds and waits, up to
// wait, until they have listed, so the apply can tell from the cache which
// objects exist. False when they did not in time.
func (d *driftWatcher) waitSynced(ctx context.Context, objects []*unstructured.Unstructured, wait time.Duration) bool {
	if d.synced(objects) {
		return true
	}
	if err := d.watch(objects); err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !d.synced(objects) {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}

// cached returns the cached metadata of the object o names, and whether
// the cache of its kind can answer at all (watched and listed). A nil
// result from a cache that can answer means no object with the owner label
// exists by that name.
func (d *driftWatcher) cached(o *unstructured.Unstructured) (*metav1.PartialObjectMetadata, bool) {
	d.mu.Lock()
	inf, ok := d.informers[o.GroupVersionKind()]
	d.mu.Unlock()
	if !ok || !inf.HasSynced() {
		return nil, false
	}
	gvk := o.GroupVersionKind()
	m, err := d.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, false
	}
	key := o.GetName()
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if o.GetNamespace() == "" {
			return nil, false
		}
		key = o.GetNamespace() + "/" + key
	}
	item, exists, err := inf.GetStore().GetByKey(key)
	if err != nil {
		return nil, false
	}
	if !exists {
		return nil, true
	}
	live, ok := item.(*metav1.PartialObjectMetadata)
	return live, ok
}

// forget drops what is remembered of obj, so its next reconcile applies.
func (d *driftWatcher) forget(obj *kustomizev1.Kustomization) {
	key := client.ObjectKeyFromObject(obj)
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.applied, key)
	delete(d.dirty, key)
}

// objectsHash is the digest of the built objects as they are applied.
func objectsHash(objects []*unstructured.Unstructured) (string, error) {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, o := range objects {
		if err := enc.Encode(o.Object); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("sha256:%x", h.Sum(nil)), nil
}
