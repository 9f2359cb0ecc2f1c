package action

import (
	"context"
	"errors"
	"fmt"

	helmaction "helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	helmrelease "helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
)

// Last returns the latest release version in storage and all versions, or
// nil when the release does not exist.
func Last(cfg *helmaction.Configuration, name string) (*helmrelease.Release, []*helmrelease.Release, error) {
	history, err := cfg.Releases.History(name)
	if err != nil {
		if errors.Is(err, driver.ErrReleaseNotFound) {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	var last *helmrelease.Release
	for _, r := range history {
		if last == nil || r.Version > last.Version {
			last = r
		}
	}
	return last, history, nil
}

func timeout(obj *helmv2.HelmRelease, d *metav1.Duration) metav1.Duration {
	if d != nil {
		return *d
	}
	return metav1.Duration{Duration: obj.GetTimeout()}
}

// Install installs chrt with vals as obj's release.
func Install(ctx context.Context, cfg *helmaction.Configuration, obj *helmv2.HelmRelease, chrt *chart.Chart, vals map[string]any) (*helmrelease.Release, error) {
	spec := obj.GetInstall()
	policy := spec.CRDs
	if policy == "" {
		policy = helmv2.CRDsPolicyCreate
	}
	if policy == helmv2.CRDsPolicyCreateReplace {
		if err := applyCRDs(cfg, chrt, policy); err != nil {
			return nil, err
		}
	}
	a := helmaction.NewInstall(cfg)
	a.ReleaseName = obj.GetReleaseName()
	a.Namespace = obj.GetReleaseNamespace()
	a.Timeout = timeout(obj, spec.Timeout).Duration
	a.Wait = !spec.DisableWait
	a.WaitForJobs = !spec.DisableWait
	a.DisableHooks = spec.DisableHooks
	a.Replace = spec.Replace
	a.CreateNamespace = spec.CreateNamespace
	a.SkipCRDs = policy != helmv2.CRDsPolicyCreate
	a.PostRenderer = newPostRenderer(obj)
	return a.RunWithContext(ctx, chrt, vals)
}

// Upgrade upgrades obj's release to chrt with vals.
func Upgrade(ctx context.Context, cfg *helmaction.Configuration, obj *helmv2.HelmRelease, chrt *chart.Chart, vals map[string]any) (*helmrelease.Release, error) {
	spec := obj.GetUpgrade()
	policy := spec.CRDs
	if policy == "" {
		policy = helmv2.CRDsPolicySkip
	}
	if policy != helmv2.CRDsPolicySkip {
		if err := applyCRDs(cfg, chrt, policy); err != nil {
			return nil, err
		}
	}
	a := helmaction.NewUpgrade(cfg)
	a.Namespace = obj.GetReleaseNamespace()
	a.Timeout = timeout(obj, spec.Timeout).Duration
	a.Wait = !spec.DisableWait
	a.WaitForJobs = !spec.DisableWait
	a.DisableHooks = spec.DisableHooks
	a.Force = spec.Force
	a.CleanupOnFail = spec.CleanupOnFail
	a.ReuseValues = spec.PreserveValues
	a.ResetValues = !spec.PreserveValues
	a.MaxHistory = obj.GetMaxHistory()
	a.SkipCRDs = true
	a.PostRenderer = newPostRenderer(obj)
	return a.RunWithContext(ctx, obj.GetReleaseName(), chrt, vals)
}

// Test runs the release's test hooks.
func Test(cfg *helmaction.Configuration, obj *helmv2.HelmRelease) (*helmrelease.Release, error) {
	a := helmaction.NewReleaseTesting(cfg)
	a.Namespace = obj.GetReleaseNamespace()
	a.Timeout = timeout(obj, obj.GetTest().Timeout).Duration
	return a.Run(obj.GetReleaseName())
}

// Rollback returns the release to version, its latest successful one
// before the current.
func Rollback(cfg *helmaction.Configuration, obj *helmv2.HelmRelease, version int) error {
	spec := obj.GetRollback()
	a := helmaction.NewRollback(cfg)
	a.Version = version
	a.Timeout = timeout(obj, spec.Timeout).Duration
	a.Wait = !spec.DisableWait
	a.WaitForJobs = !spec.DisableWait
	a.DisableHooks = spec.DisableHooks
	a.Recreate = spec.Recreate
	a.Force = spec.Force
	a.CleanupOnFail = spec.CleanupOnFail
	a.MaxHistory = obj.GetMaxHistory()
	return a.Run(obj.GetReleaseName())
}

// Uninstall removes the release and, unless spec.uninstall.keepHistory,
// its records. A release already gone is not an error.
func Uninstall(cfg *helmaction.Configuration, obj *helmv2.HelmRelease) (*helmrelease.Release, error) {
	spec := obj.GetUninstall()
	a := helmaction.NewUninstall(cfg)
	a.Timeout = timeout(obj, spec.Timeout).Duration
	a.Wait = !spec.DisableWait
	a.DisableHooks = spec.DisableHooks
	a.KeepHistory = spec.KeepHistory
	a.DeletionPropagation = spec.GetDeletionPropagation()
	a.IgnoreNotFound = true
	res, err := a.Run(obj.GetReleaseName())
	if res != nil {
		return res.Release, err
	}
	return nil, err
}

// Unlock marks a release left pending by an interrupted action as failed,
// as Helm itself would have had the action finished.
func Unlock(cfg *helmaction.Configuration, rel *helmrelease.Release) error {
	if rel == nil || rel.Info == nil || !rel.Info.Status.IsPending() && rel.Info.Status != helmrelease.StatusUninstalling {
		return nil
	}
	prev := rel.Info.Status
	rel.Info.Status = helmrelease.StatusFailed
	rel.Info.Description = fmt.Sprintf("release unlocked from stale state '%s'", prev)
	return cfg.Releases.Update(rel)
}

// PreviousSuccessful returns the newest deployed or superseded version
// older than current, or 0.
func PreviousSuccessful(history []*helmrelease.Release, current int) int {
	best := 0
	for _, r := range history {
		if r.Version < current && r.Version > best && r.Info != nil &&
			(r.Info.Status == helmrelease.StatusDeployed || r.Info.Status == helmrelease.StatusSuperseded) {
			best = r.Version
		}
	}
	return best
}
