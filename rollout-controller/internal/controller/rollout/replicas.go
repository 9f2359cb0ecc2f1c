package rollout

import (
	"k8s.io/apimachinery/pkg/util/intstr"
)

// rsCounts are the observed replicas of one ReplicaSet: spec.replicas and
// status.availableReplicas.
type rsCounts struct {
	Spec, Available int32
}

// replicaPlan asks for the replicas of the canary (the new template's
// ReplicaSet), the stable ReplicaSet and every other ReplicaSet (which are
// always going to zero).
type replicaPlan struct {
	// Desired is spec.replicas.
	Desired int32
	// CanaryTarget and StableTarget are where the two ReplicaSets should
	// end up at the current step.
	CanaryTarget, StableTarget int32
	// MaxSurge and MaxUnavailable are resolved against Desired.
	MaxSurge, MaxUnavailable int32
	Canary                   rsCounts
	// Stable is nil when the canary is the stable ReplicaSet (a finished
	// rollout) or there is none yet.
	Stable *rsCounts
	Others []rsCounts
}

// replicaResult is what the ReplicaSets are scaled to in this reconcile.
type replicaResult struct {
	Canary, Stable int32
	Others         []int32
}

// next moves the ReplicaSets towards their targets as far as maxSurge and
// maxUnavailable allow in one go: scale-ups while the total stays within
// Desired+MaxSurge (the stable first, so an abort restores capacity before
// the canary goes), then scale-downs while the available pods stay at
// least Desired-MaxUnavailable (pods that are not available yet can always
// go; older ReplicaSets first, then the canary, then the stable). Called
// again as pods become available, it converges on the targets.
func (p replicaPlan) next() replicaResult {
	out := replicaResult{Canary: p.Canary.Spec, Others: make([]int32, len(p.Others))}
	total, available := p.Canary.Spec, p.Canary.Available
	if p.Stable != nil {
		out.Stable = p.Stable.Spec
		total += p.Stable.Spec
		available += p.Stable.Available
	}
	for i, o := range p.Others {
		out.Others[i] = o.Spec
		total += o.Spec
		available += o.Available
	}

	room := p.Desired + p.MaxSurge - total
	up := func(cur *int32, target int32) {
		if target > *cur && room > 0 {
			n := min(target-*cur, room)
			*cur += n
			room -= n
		}
	}
	if p.Stable != nil {
		up(&out.Stable, p.StableTarget)
	}
	up(&out.Canary, p.CanaryTarget)

	downRoom := available - (p.Desired - p.MaxUnavailable)
	down := func(cur *int32, c rsCounts, target int32) {
		if target >= *cur {
			return
		}
		excess := *cur - target
		free := min(excess, max(0, c.Spec-c.Available))
		n := free + min(excess-free, max(0, downRoom))
		downRoom -= n - free
		*cur -= n
	}
	for i, o := range p.Others {
		down(&out.Others[i], o, 0)
	}
	down(&out.Canary, p.Canary, p.CanaryTarget)
	if p.Stable != nil {
		down(&out.Stable, *p.Stable, p.StableTarget)
	}
	return out
}

// surgeAndUnavailable resolves maxSurge (rounded up) and maxUnavailable
// (rounded down) against replicas, 25% each when unset as in Argo
// Rollouts. When both come to zero one pod may be unavailable, as a
// Deployment allows, or the rollout could never move.
func surgeAndUnavailable(maxSurge, maxUnavailable *intstr.IntOrString, replicas int32) (int32, int32) {
	def := intstr.FromString("25%")
	if maxSurge == nil {
		maxSurge = &def
	}
	if maxUnavailable == nil {
		maxUnavailable = &def
	}
	s, err := intstr.GetScaledValueFromIntOrPercent(maxSurge, int(replicas), true)
	if err != nil {
		s = 0
	}
	u, err := intstr.GetScaledValueFromIntOrPercent(maxUnavailable, int(replicas), false)
	if err != nil {
		u = 0
	}
	if s == 0 && u == 0 {
		u = 1
	}
	return int32(s), int32(min(u, int(replicas)))
}

// weightedCounts splits replicas between canary and stable so that the
// canary's share is as close to weight percent as whole pods allow,
// rounding up on ties; with surge allowed, one pod over replicas is tried
// too (3 replicas at 50% are 2 and 2), as Argo Rollouts does without
// traffic routing.
func weightedCounts(replicas, weight int32, surge bool) (canary, stable int32) {
	if replicas <= 0 {
		return 0, 0
	}
	if weight <= 0 {
		return 0, replicas
	}
	if weight >= 100 {
		return replicas, 0
	}
	totals := []int32{replicas}
	if surge {
		totals = append(totals, replicas+1)
	}
	bestErr := int64(-1)
	for _, t := range totals {
		lo := t * weight / 100
		for _, c := range []int32{lo, lo + 1} {
			if c > t {
				continue
			}
			// |c/t - w/100| compared across totals without floats:
			// |100c - wt| / t, scaled by the product of the totals.
			e := int64(100*c - weight*t)
			if e < 0 {
				e = -e
			}
			e *= int64(replicas+1) * int64(replicas) / int64(t)
			if bestErr < 0 || e < bestErr || e == bestErr && c > canary {
				bestErr, canary, stable = e, c, t-c
			}
		}
	}
	return canary, stable
}
