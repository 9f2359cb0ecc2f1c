// Package tenancy proves Flux's multi-tenancy lockdown on Ferry: the
// source-, kustomize- and helm-controller run as processes under their own
// ServiceAccounts with --no-cross-namespace-refs, --no-remote-bases and
// --default-service-account=default, so every Kustomization and HelmRelease
// of a tenant namespace that names no ServiceAccount applies as that
// namespace's "default" ServiceAccount, which the tests bind to a Role in
// its own namespace only. A tenant's objects must then fail, with a Ready
// condition that says why, at everything that reaches into another tenant's
// namespace or into cluster scope, and leave the other tenant untouched.
package tenancy

import (
	"os"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	helmv2 "github.com/ferrycd/ferry/pkg/apis/helm/v2"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/cluster"
	"github.com/ferrycd/ferry/test/gitserver"
	"github.com/ferrycd/ferry/test/harness"
)

// tenantServiceAccount is what the controllers impersonate for objects
// without spec.serviceAccountName, as Flux's lockdown configures it.
const tenantServiceAccount = "default"

// lockdown are the flags of Flux's multi-tenancy lockdown, per controller.
// The source-controller has no such flag (neither has Flux's): its kinds
// name no other objects a tenant could reach through.
var lockdown = map[string][]string{
	"kustomize-controller": {"--no-cross-namespace-refs=true", "--no-remote-bases=true", "--default-service-account=" + tenantServiceAccount},
	"helm-controller":      {"--no-cross-namespace-refs=true", "--default-service-account=" + tenantServiceAccount},
}

var (
	testCluster *cluster.Cluster
	gitSrv      *gitserver.Server
)

func TestMain(m *testing.M) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(sourcev1.AddToScheme(scheme))
	utilruntime.Must(kustomizev1.AddToScheme(scheme))
	utilruntime.Must(helmv2.AddToScheme(scheme))
	controllers := []string{"source-controller", "kustomize-controller", "helm-controller"}
	os.Exit(harness.Main(m, scheme, controllers, lockdown, func(s *harness.Suite) (func(), error) {
		testCluster = s.Cluster
		var err error
		if gitSrv, err = gitserver.Start(); err != nil {
			return nil, err
		}
		return gitSrv.Close, nil
	}))
}
