package failover

import (
	"fmt"
	"os"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/chaos/workload"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/gitserver"
	"github.com/ferrycd/ferry/test/harness"
)

var (
	testCluster *cluster.Cluster
	gitSrv      *gitserver.Server
	// binDir holds the controller binaries; workDir the replicas' files.
	binDir, workDir string
)

// controllers are the ones that run as replicas in the failover scenario:
// all four.
var controllers = []string{"source-controller", "kustomize-controller", "helm-controller", "notification-controller"}

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(sourcev1.AddToScheme(scheme))
	utilruntime.Must(kustomizev1.AddToScheme(scheme))
	utilruntime.Must(helmv2.AddToScheme(scheme))
	utilruntime.Must(notificationv1.AddToScheme(scheme))

	c, err := cluster.Start(cluster.Options{Scheme: scheme})
	if err != nil {
		return 0, err
	}
	testCluster = c
	defer func() { _ = c.Stop() }()
	if workDir, err = os.MkdirTemp("", "ferry-failover-"); err != nil {
		return 0, err
	}
	code := 0
	// A failed run keeps the replicas' logs and storage for a look.
	defer func() {
		if code == 0 {
			_ = os.RemoveAll(workDir)
		} else {
			fmt.Fprintln(os.Stderr, "failover: logs kept in", workDir)
		}
	}()
	binDir = workDir
	if err := harness.Build(binDir, controllers...); err != nil {
		return 0, err
	}
	if err := harness.InstallRBAC(c, controllers...); err != nil {
		return 0, err
	}
	if gitSrv, err = gitserver.Start(); err != nil {
		return 0, err
	}
	defer gitSrv.Close()
	code = m.Run()
	return code, writeReport()
}

// fleetSize is the workload of a scenario: the 200 Kustomizations
// and 100 HelmReleases under FERRY_CHAOS=full, a short form otherwise (the
// same sizes as the rest of the fault suite).
func fleetSize() workload.Size {
	if os.Getenv("FERRY_CHAOS") == "full" {
		return workload.Size{Kustomizations: 200, HelmReleases: 100}
	}
	return workload.Size{Kustomizations: 20, HelmReleases: 10}
}
