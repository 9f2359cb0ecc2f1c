package rollout

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
)

// RevisionAnnotation numbers a rollout's ReplicaSets in the order their
// templates appeared, with Argo Rollouts' key.
const RevisionAnnotation = "rollout.argoproj.io/revision"

// defaultRevisionHistoryLimit is Argo Rollouts' default of
// spec.revisionHistoryLimit.
const defaultRevisionHistoryLimit = 10

// podTemplateHash is the hash of a pod template that names its ReplicaSet
// and labels its pods: FNV-1a over the template's JSON (fields in a fixed
// order, map keys sorted), encoded with the alphabet Kubernetes uses for
// generated names, so it is stable across controller restarts and
// versions of this code that do not change the template's type.
func podTemplateHash(t *corev1.PodTemplateSpec) string {
	t = t.DeepCopy()
	delete(t.Labels, v1alpha1.DefaultRolloutUniqueLabelKey)
	data, _ := json.Marshal(t)
	h := fnv.New32a()
	_, _ = h.Write(data)
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// syncReplicaSets finds the rollout's ReplicaSets and creates the one of
// the current template if it is missing. The first ReplicaSet of a rollout
// starts at full size (there is nothing to roll from); a later one starts
// at zero and the strategy scales it.
func (r *Reconciler) syncReplicaSets(ctx context.Context, s *scope) error {
	ro := s.ro
	s.hash = podTemplateHash(&s.template)
	var list appsv1.ReplicaSetList
	if err := r.Client.List(ctx, &list, client.InNamespace(ro.Namespace)); err != nil {
		return fmt.Errorf("listing ReplicaSets: %w", err)
	}
	maxRevision := 0
	for i := range list.Items {
		rs := &list.Items[i]
		if !metav1.IsControlledBy(rs, ro) || !rs.DeletionTimestamp.IsZero() {
			continue
		}
		if n, err := strconv.Atoi(rs.Annotations[RevisionAnnotation]); err == nil {
			maxRevision = max(maxRevision, n)
		}
		switch rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] {
		case s.hash:
			s.newRS = rs
		case ro.Status.StableRS:
			s.stableRS = rs
			s.olds = append(s.olds, rs)
		default:
			s.olds = append(s.olds, rs)
		}
	}
	if s.newRS == nil {
		replicas := int32(0)
		if s.stableRS == nil && len(s.olds) == 0 {
			replicas = ro.GetReplicas()
		}
		rs, err := r.createReplicaSet(ctx, s, replicas, maxRevision+1)
		if err != nil {
			return err
		}
		s.newRS = rs
	}
	if ro.Status.StableRS == s.hash {
		s.stableRS = s.newRS
	}
	return nil
}

// newReplicaSet is the ReplicaSet of the scope's template: the template's
// labels plus the hash label on the ReplicaSet, its selector and its pods,
// owned by the rollout.
func newReplicaSet(s *scope, replicas int32, revision int) *appsv1.ReplicaSet {
	ro := s.ro
	tmpl := *s.template.DeepCopy()
	if tmpl.Labels == nil {
		tmpl.Labels = map[string]string{}
	}
	tmpl.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] = s.hash
	sel := s.selector.DeepCopy()
	if sel.MatchLabels == nil {
		sel.MatchLabels = map[string]string{}
	}
	sel.MatchLabels[v1alpha1.DefaultRolloutUniqueLabelKey] = s.hash
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:        ro.Name + "-" + s.hash,
			Namespace:   ro.Namespace,
			Labels:      maps.Clone(tmpl.Labels),
			Annotations: map[string]string{RevisionAnnotation: strconv.Itoa(revision)},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        ptr.To(replicas),
			MinReadySeconds: ro.Spec.MinReadySeconds,
			Selector:        sel,
			Template:        tmpl,
		},
	}
}

// createReplicaSet creates the ReplicaSet of the current template. One
// that exists already (the cache had not seen it yet) is read instead.
func (r *Reconciler) createReplicaSet(ctx context.Context, s *scope, replicas int32, revision int) (*appsv1.ReplicaSet, error) {
	rs := newReplicaSet(s, replicas, revision)
	if err := controllerutil.SetControllerReference(s.ro, rs, r.Client.Scheme()); err != nil {
		return nil, err
	}
	err := r.Client.Create(ctx, rs)
	if apierrors.IsAlreadyExists(err) {
		existing := &appsv1.ReplicaSet{}
		if err := r.Client.Get(ctx, client.ObjectKeyFromObject(rs), existing); err != nil {
			return nil, err
		}
		if !metav1.IsControlledBy(existing, s.ro) {
			return nil, fmt.Errorf("ReplicaSet '%s' exists and is not controlled by this rollout", rs.Name)
		}
		return existing, nil
	}
	if err != nil {
		return nil, fmt.Errorf("creating ReplicaSet '%s': %w", rs.Name, err)
	}
	r.Finisher.Event(s.ro, "", corev1.EventTypeNormal, NewReplicaSetReason,
		fmt.Sprintf("created ReplicaSet %s (revision %d) with %d replicas", rs.Name, revision, replicas))
	return rs, nil
}

// scaleReplicaSet sets a ReplicaSet's replicas, patching only that field.
func (r *Reconciler) scaleReplicaSet(ctx context.Context, ro *v1alpha1.Rollout, rs *appsv1.ReplicaSet, replicas int32) error {
	if ptr.Deref(rs.Spec.Replicas, 1) == replicas {
		return nil
	}
	base := rs.DeepCopy()
	from := ptr.Deref(rs.Spec.Replicas, 1)
	rs.Spec.Replicas = ptr.To(replicas)
	if err := r.Client.Patch(ctx, rs, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("scaling ReplicaSet '%s' to %d: %w", rs.Name, replicas, err)
	}
	r.Finisher.Event(ro, "", corev1.EventTypeNormal, ScalingReplicaSetReason,
		fmt.Sprintf("scaled ReplicaSet %s from %d to %d", rs.Name, from, replicas))
	return nil
}

// cleanupHistory deletes the oldest scaled-down ReplicaSets beyond
// spec.revisionHistoryLimit; the stable and the new ReplicaSet are never
// deleted.
func (r *Reconciler) cleanupHistory(ctx context.Context, s *scope) error {
	limit := int(ptr.Deref(s.ro.Spec.RevisionHistoryLimit, defaultRevisionHistoryLimit))
	var idle []*appsv1.ReplicaSet
	for _, rs := range s.olds {
		if rs != s.stableRS && ptr.Deref(rs.Spec.Replicas, 1) == 0 && rs.Status.Replicas == 0 {
			idle = append(idle, rs)
		}
	}
	if len(idle) <= limit {
		return nil
	}
	slices.SortFunc(idle, func(a, b *appsv1.ReplicaSet) int { return revisionOf(a) - revisionOf(b) })
	for _, rs := range idle[:len(idle)-limit] {
		if err := r.Client.Delete(ctx, rs, client.Preconditions{UID: &rs.UID}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting old ReplicaSet '%s': %w", rs.Name, err)
		}
	}
	return nil
}

func revisionOf(rs *appsv1.ReplicaSet) int {
	n, _ := strconv.Atoi(rs.Annotations[RevisionAnnotation])
	return n
}
