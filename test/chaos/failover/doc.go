// Package failover holds the fault suite's scale-out scenarios: two
// replicas of each controller with leader election, where the leader is
// killed (kill -9) and the standby must take over within the lease time
// with nothing lost, and two shards of the kustomize-controller split by
// --watch-label-selector (sharding.fluxcd.io/key), each reconciling only
// its own Kustomizations while both read the unlabelled sources, Secrets
// and ConfigMaps those reference.
//
// The controllers run as processes, each standing for a Pod: the test
// creates a Pod object per replica (POD_NAME and POD_NAMESPACE are what the
// downward API would give the container), reports it Ready or not as the
// kubelet would, and routes the source-controller's Service address to the
// process behind the Pod the Service selects, as kube-proxy would. So the
// artifact URLs in status, which name the Service, reach whichever replica
// the real manifests (config/manager/source-controller/service.yaml) and
// the leader's Pod label (pkg/manager.LeaderLabel) say they reach.
//
// The fleet is test/chaos/workload's: FERRY_CHAOS=full runs it at 200
// Kustomizations and 100 HelmReleases (make chaos), otherwise a short form
// runs (make test).
package failover
