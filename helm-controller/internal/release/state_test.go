package release

import (
	"testing"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
)

func hr(mut ...func(*helmv2.HelmRelease)) *helmv2.HelmRelease {
	obj := &helmv2.HelmRelease{}
	for _, m := range mut {
		m(obj)
	}
	return obj
}

func attempted(a helmv2.ReleaseAction, installFailures, upgradeFailures int64) func(*helmv2.HelmRelease) {
	return func(o *helmv2.HelmRelease) {
		o.Status.LastAttemptedReleaseAction = a
		o.Status.InstallFailures = installFailures
		o.Status.UpgradeFailures = upgradeFailures
	}
}

func installRetries(n int) func(*helmv2.HelmRelease) {
	return func(o *helmv2.HelmRelease) {
		o.Spec.Install = &helmv2.Install{Remediation: &helmv2.InstallRemediation{Retries: n}}
	}
}

func upgradeRetries(n int, strategy helmv2.RemediationStrategy) func(*helmv2.HelmRelease) {
	return func(o *helmv2.HelmRelease) {
		o.Spec.Upgrade = &helmv2.Upgrade{Remediation: &helmv2.UpgradeRemediation{Retries: n, Strategy: &strategy}}
	}
}

// retryOnFailure sets the RetryOnFailure strategy on install and upgrade.
func retryOnFailure(o *helmv2.HelmRelease) {
	retry := &helmv2.ActionStrategy{Name: helmv2.ActionStrategyRetryOnFailure}
	if o.Spec.Install == nil {
		o.Spec.Install = &helmv2.Install{}
	}
	if o.Spec.Upgrade == nil {
		o.Spec.Upgrade = &helmv2.Upgrade{}
	}
	o.Spec.Install.Strategy, o.Spec.Upgrade.Strategy = retry, retry
}

func testEnabled(ignore bool) func(*helmv2.HelmRelease) {
	return func(o *helmv2.HelmRelease) { o.Spec.Test = &helmv2.Test{Enable: true, IgnoreFailures: ignore} }
}

var want = Desired{ChartName: "app", ChartVersion: "1.0.0", ConfigDigest: "sha256:a"}

func cur(status string, mut ...func(*Current)) *Current {
	c := &Current{Version: 2, Status: status, ChartName: "app", ChartVersion: "1.0.0", ConfigDigest: "sha256:a", HasPrevious: true}
	for _, m := range mut {
		m(c)
	}
	return c
}

func TestDecide(t *testing.T) {
	forced := want
	forced.Force = true
	for _, tt := range []struct {
		name string
		obj  *helmv2.HelmRelease
		want Desired
		cur  *Current
		act  Action
	}{
		{"absent installs", hr(), want, nil, Install},
		{"uninstalled installs", hr(), want, cur(StatusUninstalled), Install},
		{"absent after exhausted install retries stalls", hr(attempted(helmv2.ReleaseActionInstall, 1, 0)), want, nil, Stall},
		{"absent with install retries left installs", hr(installRetries(2), attempted(helmv2.ReleaseActionInstall, 2, 0)), want, nil, Install},
		{"absent exhausted but forced installs", hr(attempted(helmv2.ReleaseActionInstall, 1, 0)), forced, nil, Install},
		{"in sync does nothing", hr(), want, cur(StatusDeployed), None},
		{"new chart version upgrades", hr(), want, cur(StatusDeployed, func(c *Current) { c.ChartVersion = "0.9.0" }), Upgrade},
		{"new chart name upgrades", hr(), want, cur(StatusDeployed, func(c *Current) { c.ChartName = "old" }), Upgrade},
		{"new values upgrade", hr(), want, cur(StatusDeployed, func(c *Current) { c.ConfigDigest = "sha256:b" }), Upgrade},
		{"force upgrades an in-sync release", hr(), forced, cur(StatusDeployed), Upgrade},
		{"changed post-renderers upgrade", hr(), Desired{ChartName: "app", ChartVersion: "1.0.0", ConfigDigest: "sha256:a", PostRenderersChanged: true},
			cur(StatusDeployed), Upgrade},
		{"out of sync after exhausted upgrade retries stalls", hr(attempted(helmv2.ReleaseActionUpgrade, 0, 1)), want,
			cur(StatusDeployed, func(c *Current) { c.ChartVersion = "0.9.0" }), Stall},
		{"pending install unlocks", hr(), want, cur(StatusPendingInstall), Unlock},
		{"pending upgrade unlocks", hr(), want, cur(StatusPendingUpgrade), Unlock},
		{"pending rollback unlocks", hr(), want, cur(StatusPendingRollback), Unlock},
		{"failed install with retries left uninstalls", hr(installRetries(1), attempted(helmv2.ReleaseActionInstall, 1, 0)), want,
			cur(StatusFailed, func(c *Current) { c.HasPrevious = false }), Uninstall},
		{"failed install with retries exhausted stalls", hr(attempted(helmv2.ReleaseActionInstall, 1, 0)), want, cur(StatusFailed), Stall},
		{"failed upgrade with retries left rolls back", hr(upgradeRetries(1, helmv2.RollbackRemediationStrategy), attempted(helmv2.ReleaseActionUpgrade, 0, 1)), want,
			cur(StatusFailed), Rollback},
		{"failed upgrade with nothing to roll back to uninstalls", hr(upgradeRetries(1, helmv2.RollbackRemediationStrategy), attempted(helmv2.ReleaseActionUpgrade, 0, 1)), want,
			cur(StatusFailed, func(c *Current) { c.HasPrevious = false }), Uninstall},
		{"failed upgrade with uninstall strategy uninstalls", hr(upgradeRetries(1, helmv2.UninstallRemediationStrategy), attempted(helmv2.ReleaseActionUpgrade, 0, 1)), want,
			cur(StatusFailed), Uninstall},
		{"last failure remediated when retries exhausted", hr(upgradeRetries(1, helmv2.RollbackRemediationStrategy), attempted(helmv2.ReleaseActionUpgrade, 0, 2)), want,
			cur(StatusFailed), Rollback},
		{"failed upgrade without retries stalls", hr(attempted(helmv2.ReleaseActionUpgrade, 0, 1)), want, cur(StatusFailed), Stall},
		{"failure of an earlier desired state upgrades", hr(attempted(helmv2.ReleaseActionUpgrade, 0, 0)), want, cur(StatusFailed), Upgrade},
		{"failed release not made by us upgrades", hr(), want, cur(StatusFailed), Upgrade},
		{"forced upgrade of a failed release", hr(attempted(helmv2.ReleaseActionUpgrade, 0, 1)), forced, cur(StatusFailed), Upgrade},
		{"untested release is tested", hr(testEnabled(false)), want, cur(StatusDeployed), Test},
		{"tested release is in sync", hr(testEnabled(false)), want, cur(StatusDeployed, func(c *Current) { c.Tested = true }), None},
		{"failed tests remediate", hr(testEnabled(false), upgradeRetries(1, helmv2.RollbackRemediationStrategy), attempted(helmv2.ReleaseActionUpgrade, 0, 1)), want,
			cur(StatusDeployed, func(c *Current) { c.Tested, c.TestFailed = true, true }), Rollback},
		{"ignored test failures are in sync", hr(testEnabled(true), attempted(helmv2.ReleaseActionInstall, 0, 0)), want,
			cur(StatusDeployed, func(c *Current) { c.Tested, c.TestFailed = true, true }), None},
		{"tests disabled skip testing", hr(), want, cur(StatusDeployed), None},
		{"RetryOnFailure retries a failed install with an upgrade", hr(installRetries(3), retryOnFailure, attempted(helmv2.ReleaseActionInstall, 1, 0)), want,
			cur(StatusFailed, func(c *Current) { c.HasPrevious = false }), Upgrade},
		{"RetryOnFailure never stalls a failed install", hr(retryOnFailure, attempted(helmv2.ReleaseActionInstall, 5, 0)), want,
			cur(StatusFailed, func(c *Current) { c.HasPrevious = false }), Upgrade},
		{"RetryOnFailure installs again when no release was stored", hr(retryOnFailure, attempted(helmv2.ReleaseActionInstall, 5, 0)), want, nil, Install},
		{"RetryOnFailure retries a failed upgrade without rolling back", hr(upgradeRetries(3, helmv2.RollbackRemediationStrategy), retryOnFailure,
			attempted(helmv2.ReleaseActionUpgrade, 0, 1)), want, cur(StatusFailed), Upgrade},
		{"RetryOnFailure never stalls a failed upgrade", hr(retryOnFailure, attempted(helmv2.ReleaseActionUpgrade, 0, 7)), want, cur(StatusFailed), Upgrade},
		{"RetryOnFailure upgrades an out-of-sync release past its retries", hr(retryOnFailure, attempted(helmv2.ReleaseActionUpgrade, 0, 7)), want,
			cur(StatusDeployed, func(c *Current) { c.ChartVersion = "0.9.0" }), Upgrade},
		{"RetryOnFailure on install only still rolls back a failed upgrade", hr(upgradeRetries(1, helmv2.RollbackRemediationStrategy),
			func(o *helmv2.HelmRelease) {
				o.Spec.Install = &helmv2.Install{Strategy: &helmv2.ActionStrategy{Name: helmv2.ActionStrategyRetryOnFailure}}
			},
			attempted(helmv2.ReleaseActionUpgrade, 0, 1)), want, cur(StatusFailed), Rollback},
		{"RemediateOnFailure named explicitly remediates", hr(upgradeRetries(1, helmv2.RollbackRemediationStrategy),
			func(o *helmv2.HelmRelease) {
				o.Spec.Upgrade.Strategy = &helmv2.ActionStrategy{Name: helmv2.ActionStrategyRemediateOnFailure}
			},
			attempted(helmv2.ReleaseActionUpgrade, 0, 1)), want, cur(StatusFailed), Rollback},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.obj, tt.want, tt.cur)
			if d.Action != tt.act {
				t.Fatalf("Decide() = %s (%s), want %s", d.Action, d.Message, tt.act)
			}
			if d.Message == "" {
				t.Fatal("Decide() gave no message")
			}
		})
	}
}
