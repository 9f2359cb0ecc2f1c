package rollout

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
)

// rollOut scales the ReplicaSets as the rollout's strategy says. A rollout
// with neither strategy set rolls out as a canary without steps.
func (r *Reconciler) rollOut(ctx context.Context, s *scope) error {
	if s.ro.Spec.Strategy.BlueGreen != nil {
		return r.rollOutBlueGreen(ctx, s)
	}
	return r.rollOutCanary(ctx, s)
}

// applyReplicas scales the canary, the stable and the other ReplicaSets to
// res, in the order that keeps capacity: scale-ups first.
func (r *Reconciler) applyReplicas(ctx context.Context, s *scope, res replicaResult) error {
	type target struct {
		rs *appsv1.ReplicaSet
		n  int32
	}
	targets := []target{{s.newRS, res.Canary}}
	if s.stableRS != nil && s.stableRS != s.newRS {
		targets = append(targets, target{s.stableRS, res.Stable})
	}
	for i, rs := range s.otherRSs() {
		targets = append(targets, target{rs, res.Others[i]})
	}
	for _, up := range []bool{true, false} {
		for _, t := range targets {
			cur := specReplicas(t.rs)
			if (t.n > cur) == up && t.n != cur {
				if err := r.scaleReplicaSet(ctx, s.ro, t.rs, t.n); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// otherRSs are the rollout's ReplicaSets that are neither the new nor the
// stable one: older revisions, and a canary replaced mid-rollout.
func (s *scope) otherRSs() []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, rs := range s.olds {
		if rs != s.stableRS {
			out = append(out, rs)
		}
	}
	return out
}

func specReplicas(rs *appsv1.ReplicaSet) int32 {
	if rs.Spec.Replicas == nil {
		return 1
	}
	return *rs.Spec.Replicas
}

// plan is the replicaPlan of the scope's ReplicaSets for the given targets.
func (s *scope) plan(canaryTarget, stableTarget int32) replicaPlan {
	ro := s.ro
	desired := ro.GetReplicas()
	p := replicaPlan{Desired: desired, CanaryTarget: canaryTarget, StableTarget: stableTarget,
		Canary: countsOf(s.newRS)}
	if c := ro.Spec.Strategy.Canary; c != nil {
		p.MaxSurge, p.MaxUnavailable = surgeAndUnavailable(c.MaxSurge, c.MaxUnavailable, desired)
	} else {
		p.MaxSurge, p.MaxUnavailable = surgeAndUnavailable(nil, nil, desired)
	}
	if s.stableRS != nil && s.stableRS != s.newRS {
		c := countsOf(s.stableRS)
		p.Stable = &c
	}
	for _, rs := range s.otherRSs() {
		p.Others = append(p.Others, countsOf(rs))
	}
	return p
}

func countsOf(rs *appsv1.ReplicaSet) rsCounts {
	return rsCounts{Spec: specReplicas(rs), Available: rs.Status.AvailableReplicas}
}
