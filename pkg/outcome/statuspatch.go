package outcome

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/fluxcd/pkg/runtime/patch"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The patch helper writes a status in two requests, the conditions (read
// again, merged with the owned-conditions rules, retried on conflict) and
// then the other fields. A reconcile is the only writer of its object's
// status in the common case, so Lifecycle writes it in one merge patch of
// the status subresource, locked on the resourceVersion the reconcile
// started from: nobody else wrote meanwhile, or the API server answers
// Conflict and the patch helper does the careful merge as before. Anything
// beyond the status changed (metadata, spec) goes through the helper too.

// statusBase is the object as last written in this reconcile, the base of
// the next status patch.
type statusBase struct {
	client client.Client
	before client.Object
}

type statusBaseKey struct{}

// withStatusBase returns ctx carrying obj, as read, as the status base.
func withStatusBase(ctx context.Context, c client.Client, obj client.Object) context.Context {
	return context.WithValue(ctx, statusBaseKey{}, &statusBase{client: c, before: obj.DeepCopyObject().(client.Object)})
}

func statusBaseFrom(ctx context.Context) *statusBase {
	b, _ := ctx.Value(statusBaseKey{}).(*statusBase)
	return b
}

// patchStatus writes obj's status in one request. done is false when that
// cannot be done (more than the status changed, or the object moved since
// the base was read): the caller falls back to the patch helper.
func (b *statusBase) patchStatus(ctx context.Context, obj client.Object, owner string) (done bool, err error) {
	// Nothing changed at all, the common case of an unchanged reconcile:
	// the typed comparison costs a fraction of the conversions below.
	if equality.Semantic.DeepEqual(b.before, obj) {
		return true, nil
	}
	before, err := runtime.DefaultUnstructuredConverter.ToUnstructured(b.before)
	if err != nil {
		return false, nil
	}
	after, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return false, nil
	}
	if !sameOutsideStatus(before, after) {
		return false, nil
	}
	if equality.Semantic.DeepEqual(before["status"], after["status"]) {
		return true, nil
	}
	err = b.client.Status().Patch(ctx, obj, client.MergeFromWithOptions(b.before, client.MergeFromWithOptimisticLock{}),
		client.FieldOwner(owner))
	if apierrors.IsConflict(err) {
		return true, b.rebaseStatus(ctx, obj, before["status"], after["status"], owner)
	}
	if err != nil {
		return true, err
	}
	b.before = obj.DeepCopyObject().(client.Object)
	return true, nil
}

// rebaseAttempts bounds the conflicts rebaseStatus takes before it gives
// the error back to the reconcile (which is then retried).
const rebaseAttempts = 5

// rebaseStatus writes this reconcile's status changes (from before to
// after, as a JSON merge patch of the status) onto the object as the API
// server has it now. A conflict means the object moved since the base was
// read: another writer, or, far more often, a cache that had not yet seen
// this controller's own last status write. A merge patch replaces lists
// whole, so the conditions end as this reconcile set them; the patch
// helper's per-condition diff from such a stale base could not remove a
// condition the base had never seen (a Ready HelmRelease kept the
// Reconciling=True of its previous reconcile). Status fields this reconcile
// did not change keep what another writer put there (a user's
// status.abort on a Rollout).
func (b *statusBase) rebaseStatus(ctx context.Context, obj client.Object, before, after any, owner string) error {
	from, err := json.Marshal(before)
	if err != nil {
		return err
	}
	to, err := json.Marshal(after)
	if err != nil {
		return err
	}
	changes, err := jsonpatch.CreateMergePatch(from, to)
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		latest := obj.DeepCopyObject().(client.Object)
		if err := b.getLatest(ctx, obj, latest); err != nil {
			return err
		}
		desired, err := withStatusPatch(latest, changes)
		if err != nil {
			return err
		}
		err = b.client.Status().Patch(ctx, desired, client.MergeFromWithOptions(latest, client.MergeFromWithOptimisticLock{}),
			client.FieldOwner(owner))
		if apierrors.IsConflict(err) && attempt < rebaseAttempts {
			continue
		}
		if err != nil {
			return err
		}
		written, err := runtime.DefaultUnstructuredConverter.ToUnstructured(desired)
		if err != nil {
			return err
		}
		// obj becomes what was written, nothing of the stale copy left.
		reflect.ValueOf(obj).Elem().SetZero()
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(written, obj); err != nil {
			return err
		}
		b.before = desired
		return nil
	}
}

// getLatest reads obj as the API server has it, past the cache, through the
// status subresource; from the client's reader where that is not served
// (a fake client).
func (b *statusBase) getLatest(ctx context.Context, obj, into client.Object) error {
	if err := b.client.SubResource("status").Get(ctx, obj, into); err == nil {
		return nil
	} else if apierrors.IsNotFound(err) {
		return err
	}
	return b.client.Get(ctx, client.ObjectKeyFromObject(obj), into)
}

// withStatusPatch returns a copy of obj with the merge patch applied to its
// status.
func withStatusPatch(obj client.Object, changes []byte) (client.Object, error) {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	cur := []byte("{}")
	if u["status"] != nil {
		if cur, err = json.Marshal(u["status"]); err != nil {
			return nil, err
		}
	}
	merged, err := jsonpatch.MergePatch(cur, changes)
	if err != nil {
		return nil, err
	}
	var status any
	if err := json.Unmarshal(merged, &status); err != nil {
		return nil, err
	}
	u["status"] = status
	out := obj.DeepCopyObject().(client.Object)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u, out); err != nil {
		return nil, err
	}
	return out, nil
}

// sameOutsideStatus reports whether two objects differ in nothing but their
// status (and the bookkeeping metadata the server keeps).
func sameOutsideStatus(a, b map[string]any) bool {
	strip := func(m map[string]any) map[string]any {
		out := make(map[string]any, len(m))
		for k, v := range m {
			if k != "status" {
				out[k] = v
			}
		}
		md, _ := out["metadata"].(map[string]any)
		if md != nil {
			c := make(map[string]any, len(md))
			for k, v := range md {
				if k != "resourceVersion" && k != "managedFields" {
					c[k] = v
				}
			}
			out["metadata"] = c
		}
		return out
	}
	return equality.Semantic.DeepEqual(strip(a), strip(b))
}

// setObservedGeneration sets status.observedGeneration to the object's
// generation, what patch.WithStatusObservedGeneration does for the helper.
func setObservedGeneration(obj client.Object) error {
	// The API types keep it in Status.ObservedGeneration: set there, it
	// costs nothing, where the round trip through unstructured below costs
	// more than the rest of an unchanged reconcile.
	if f := observedGenerationField(obj); f.IsValid() {
		f.SetInt(obj.GetGeneration())
		return nil
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return err
	}
	if _, ok := u["status"]; !ok {
		return nil
	}
	if err := unstructured.SetNestedField(u, obj.GetGeneration(), "status", "observedGeneration"); err != nil {
		return err
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(u, obj)
}

// observedGenerationField returns obj's settable status.observedGeneration
// field, or the zero Value when obj has none of that shape.
func observedGenerationField(obj client.Object) reflect.Value {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}
	}
	st := v.Elem().FieldByName("Status")
	if st.Kind() != reflect.Struct {
		return reflect.Value{}
	}
	sf, ok := st.Type().FieldByName("ObservedGeneration")
	if !ok || sf.Type.Kind() != reflect.Int64 || strings.Split(sf.Tag.Get("json"), ",")[0] != "observedGeneration" {
		return reflect.Value{}
	}
	if f := st.FieldByIndex(sf.Index); f.CanSet() {
		return f
	}
	return reflect.Value{}
}

// writeStatus is how Finish and Progress write: one status patch when the
// reconcile runs under Lifecycle and only the status changed, else the
// patch helper.
func (f *Finisher) writeStatus(ctx context.Context, patcher *patch.SerialPatcher, obj Object, observed bool) error {
	opts := f.patchOptions()
	if observed {
		opts = append(opts, patch.WithStatusObservedGeneration{})
	}
	if b := statusBaseFrom(ctx); b != nil {
		if observed {
			if err := setObservedGeneration(obj); err != nil {
				return err
			}
		}
		if done, err := b.patchStatus(ctx, obj, f.fieldOwner()); done {
			return err
		}
		return b.patchWithHelper(ctx, obj, opts...)
	}
	return patcher.Patch(ctx, obj, opts...)
}

// patchWithHelper writes obj through the patch helper from the base of the
// last write. The base must be the last write, one-request or not: a helper
// computing its diff from an older base would not see a condition an
// in-between progress write added, and could never remove it (Reconciling
// left True on a Ready object).
func (b *statusBase) patchWithHelper(ctx context.Context, obj client.Object, opts ...patch.Option) error {
	helper, err := patch.NewHelper(b.before, b.client)
	if err != nil {
		return err
	}
	// obj may still carry the resourceVersion the reconcile read when the
	// last write was a progress snapshot; left so, it would lock the patch
	// on a version already gone.
	obj.SetResourceVersion(b.before.GetResourceVersion())
	if err := helper.Patch(ctx, obj, opts...); err != nil {
		return err
	}
	b.before = obj.DeepCopyObject().(client.Object)
	return nil
}
