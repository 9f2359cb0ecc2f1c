package kustomization

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	ssaerrors "github.com/fluxcd/pkg/ssa/errors"
	"github.com/fluxcd/pkg/ssa/utils"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The ssa library's ApplyAll reads every object, dry-runs every object and
// then applies what differs: three requests an object, nine for a new
// Kustomization of three objects, on the path that decides how fast a fleet
// becomes Ready (the API server, not Ferry, is the limit). applyObjects
// answers the same questions from what the controller already holds: the
// drift watches' metadata cache says which objects exist (only objects
// carrying the owner label are cached) and who last wrote them, and the
// last apply's memory says what was applied. So
//   - an object that does not exist is created by its apply alone, no read
//     and no dry-run; whether it was created is told by the apply's answer;
//   - an object whose build is what was last applied and that nobody wrote
//     since costs nothing;
//   - an object that changed is dry-run (so a rejected object fails before
//     any existing object is written, as with the library) and applied,
//     and the answer's resourceVersion says whether it was configured.
// Whatever the cache cannot decide goes through the library as before:
// CRDs and Namespaces (staged, waited for), ssa: IfNotPresent (an unlabelled
// object of that name may exist), objects that need their kubectl metadata
// cleaned up, objects being deleted, and any object whose dry-run fails
// (the library repeats it and recreates on an immutable field under force).

// applyWait bounds how long an apply waits for the watches of its kinds to
// list before it falls back to the library.
const applyWait = 10 * time.Second

// applyStep is how one object is applied.
type applyStep int

const (
	// stepSkip: excluded (reconcile: disabled, ssa: Ignore); no request.
	stepSkip applyStep = iota
	// stepUnchanged: applied before as built now, written by nobody since;
	// no request.
	stepUnchanged
	// stepCreate: absent from the cache; the apply creates it.
	stepCreate
	// stepUpdate: present and changed or edited; dry-run, then apply.
	stepUpdate
	// stepLibrary: only a read of the object can decide; the ssa library.
	stepLibrary
)

// decideStep is the decision for one object: desired as built (owner labels
// set), live its cached metadata (nil when absent from the cache), last what
// the previous apply of it left (ok false when nothing is remembered), hash
// the hash of desired.
func decideStep(desired *unstructured.Unstructured, live *metav1.PartialObjectMetadata, last objectApplied, ok bool, hash uint64, opts ssa.ApplyOptions) applyStep {
	switch {
	case utils.AnyInMetadata(desired, opts.ExclusionSelector):
		return stepSkip
	case utils.AnyInMetadata(desired, opts.IfNotPresentSelector):
		return stepLibrary
	case live == nil:
		return stepCreate
	case live.DeletionTimestamp != nil:
		return stepLibrary
	case anyIn(live.Labels, live.Annotations, opts.ExclusionSelector):
		return stepSkip
	case needsCleanup(desired, live, opts.Cleanup):
		return stepLibrary
	case ok && last.hash == hash && (last.uid == "" || last.uid == live.UID) && !writtenSince(live, fieldManager):
		return stepUnchanged
	default:
		return stepUpdate
	}
}

// anyIn is utils.AnyInMetadata over cached labels and annotations.
func anyIn(labels, annotations, selector map[string]string) bool {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetLabels(labels)
	u.SetAnnotations(annotations)
	return utils.AnyInMetadata(u, selector)
}

// needsCleanup reports whether the library's metadata cleanup would patch
// the live object: it carries an annotation to remove (kubectl's
// last-applied configuration) or a field manager to fold into ours.
func needsCleanup(desired *unstructured.Unstructured, live *metav1.PartialObjectMetadata, c ssa.ApplyCleanupOptions) bool {
	if utils.AnyInMetadata(desired, c.Exclusions) || anyIn(live.Labels, live.Annotations, c.Exclusions) {
		return false
	}
	if len(c.Labels) > 0 {
		// The cache keeps no labels to tell; let the library look.
		return true
	}
	for _, a := range c.Annotations {
		if _, ok := live.Annotations[a]; ok {
			return true
		}
	}
	for _, f := range live.ManagedFields {
		for _, m := range c.FieldManagers {
			if string(f.Operation) != string(m.OperationType) {
				continue
			}
			if f.Manager == m.Name || !m.ExactMatch && len(f.Manager) >= len(m.Name) && f.Manager[:len(m.Name)] == m.Name {
				return true
			}
		}
	}
	return false
}

// writtenSince reports whether someone other than manager wrote the object
// (not a status subresource) no earlier than manager's own last write, or
// manager never wrote it: then the object may differ from what was applied.
func writtenSince(live *metav1.PartialObjectMetadata, manager string) bool {
	var ours *metav1.Time
	for _, f := range live.ManagedFields {
		if f.Manager == manager && f.Subresource == "" {
			ours = f.Time
		}
	}
	if ours == nil {
		return true
	}
	for _, f := range live.ManagedFields {
		if f.Manager != manager && f.Subresource == "" && (f.Time == nil || !f.Time.Before(ours)) {
			return true
		}
	}
	return false
}

// objectHash is a short digest of one object as applied.
func objectHash(o *unstructured.Unstructured) (uint64, error) {
	b, err := json.Marshal(o.Object)
	if err != nil {
		return 0, err
	}
	sum := sha256.Sum256(b)
	return binary.BigEndian.Uint64(sum[:8]), nil
}

// cacheApplies reports whether applyObjects can decide this set from the
// cache: the controller's own cluster, no staged kinds (CRDs, Namespaces,
// classes wait for each other), and watches of every kind listed.
func (r *Reconciler) cacheApplies(ctx context.Context, s *scope) bool {
	if r.drift == nil || s.obj.Spec.KubeConfig != nil {
		return false
	}
	for _, o := range s.objects {
		if utils.IsClusterDefinition(o) || utils.IsClassDefinition(o) {
			return false
		}
	}
	return r.drift.waitSynced(ctx, s.objects, applyWait)
}

// applyObjects applies the built objects (see the comment at the top of the
// file) and returns the change set, in the library's order, and what each
// applied object left, for the next reconcile. On error the change set holds
// the objects written so far, so they stay in the inventory.
func (r *Reconciler) applyObjects(ctx context.Context, s *scope, opts ssa.ApplyOptions) (*ssa.ChangeSet, map[object.ObjMetadata]objectApplied, error) {
	if !r.cacheApplies(ctx, s) {
		cs, err := s.manager.ApplyAllStaged(ctx, s.objects, opts)
		return cs, nil, err
	}
	objects := s.objects
	sort.Sort(ssa.SortableUnstructureds(objects))
	last := r.drift.lastApplied(s.obj)
	next := make(map[object.ObjMetadata]objectApplied, len(objects))
	entries := make([]*ssa.ChangeSetEntry, len(objects))
	steps := make([]applyStep, len(objects))
	lives := make([]*metav1.PartialObjectMetadata, len(objects))
	for i, o := range objects {
		hash, err := objectHash(o)
		if err != nil {
			return nil, nil, err
		}
		key := object.UnstructuredToObjMetadata(o)
		live, _ := r.drift.cached(o)
		prev, ok := last[key]
		lives[i] = live
		steps[i] = decideStep(o, live, prev, ok, hash, opts)
		next[key] = objectApplied{hash: hash, uid: prev.uid}
		switch steps[i] {
		case stepSkip:
			entries[i] = changeEntry(o, ssa.SkippedAction)
		case stepUnchanged:
			entries[i] = changeEntry(o, ssa.UnchangedAction)
		}
	}
	c := s.manager.Client()
	// Validate what changes before anything is written; an object whose
	// dry-run fails is the library's to retry, recreate or report.
	for i, o := range objects {
		if steps[i] == stepUpdate {
			if err := c.Patch(ctx, o.DeepCopy(), client.Apply, client.DryRunAll, client.ForceOwnership, client.FieldOwner(fieldManager)); err != nil {
				steps[i] = stepLibrary
			}
		}
	}
	var library []*unstructured.Unstructured
	for i, o := range objects {
		if steps[i] == stepLibrary {
			library = append(library, o)
		}
	}
	if len(library) > 0 {
		cs, err := s.manager.ApplyAll(ctx, library, opts)
		if err != nil {
			return written(entries), nil, err
		}
		byKey := map[object.ObjMetadata]ssa.ChangeSetEntry{}
		for _, e := range cs.Entries {
			byKey[e.ObjMetadata] = e
		}
		for i, o := range objects {
			if steps[i] == stepLibrary {
				key := object.UnstructuredToObjMetadata(o)
				if e, ok := byKey[key]; ok {
					entries[i] = &e
				}
				// The library's answer is not seen: the next apply of it
				// compares again.
				delete(next, key)
			}
		}
	}
	// New objects first, then changed ones: a rejected new object leaves
	// every existing object as it was.
	for _, want := range []applyStep{stepCreate, stepUpdate} {
		for i, o := range objects {
			if steps[i] != want {
				continue
			}
			e, uid, err := r.applyOne(ctx, c, o, lives[i], next)
			if err != nil && ssaerrors.IsImmutableError(err) {
				// An object the cache did not show (it lacks the owner
				// label) with an immutable field changed: the library
				// recreates it under force, or reports it.
				cs, lerr := s.manager.ApplyAll(ctx, []*unstructured.Unstructured{o}, opts)
				if lerr != nil {
					return written(entries), nil, lerr
				}
				entries[i] = &cs.Entries[0]
				delete(next, object.UnstructuredToObjMetadata(o))
				continue
			}
			if err != nil {
				return written(entries), nil, err
			}
			entries[i] = e
			key := object.UnstructuredToObjMetadata(o)
			next[key] = objectApplied{hash: next[key].hash, uid: uid}
		}
	}
	return written(entries), next, nil
}

// applyOne applies o with server-side apply and tells from the answer what
// happened: created when the object was absent from the cache and the
// answer shows no other writer nor the UID applied before; else configured
// when its resourceVersion moved from the cached one, unchanged when not.
func (r *Reconciler) applyOne(ctx context.Context, c client.Client, o *unstructured.Unstructured, live *metav1.PartialObjectMetadata, last map[object.ObjMetadata]objectApplied) (*ssa.ChangeSetEntry, types.UID, error) {
	applied := o.DeepCopy()
	if err := c.Patch(ctx, applied, client.Apply, client.ForceOwnership, client.FieldOwner(fieldManager)); err != nil {
		return nil, "", fmt.Errorf("%s apply failed: %w", utils.FmtUnstructured(o), err)
	}
	uid := applied.GetUID()
	action := ssa.ConfiguredAction
	switch {
	case live == nil:
		prev := last[object.UnstructuredToObjMetadata(o)]
		if prev.uid != uid && onlyWriter(applied, fieldManager) {
			action = ssa.CreatedAction
		}
	case live.ResourceVersion == applied.GetResourceVersion():
		action = ssa.UnchangedAction
	}
	return changeEntry(applied, action), uid, nil
}

// onlyWriter reports whether manager is the only one that wrote o (status
// subresources aside): true of an object the apply just created.
func onlyWriter(o *unstructured.Unstructured, manager string) bool {
	for _, f := range o.GetManagedFields() {
		if f.Manager != manager && f.Subresource == "" {
			return false
		}
	}
	return true
}

// changeEntry is the library's change set entry for o.
func changeEntry(o *unstructured.Unstructured, action ssa.Action) *ssa.ChangeSetEntry {
	return &ssa.ChangeSetEntry{
		ObjMetadata:  object.UnstructuredToObjMetadata(o),
		GroupVersion: o.GroupVersionKind().Version,
		Subject:      utils.FmtUnstructured(o),
		Action:       action,
	}
}

// written is the change set of the entries decided so far.
func written(entries []*ssa.ChangeSetEntry) *ssa.ChangeSet {
	cs := ssa.NewChangeSet()
	for _, e := range entries {
		if e != nil {
			cs.Add(*e)
		}
	}
	return cs
}
