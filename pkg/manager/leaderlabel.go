package manager

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// LeaderLabel marks the Pod of the replica that holds a controller's leader
// lease; its value is the controller's name. The source-controller's
// Service selects it, because artifacts live on the disk of the replica
// that wrote them: a Service selecting every replica would send a consumer
// to a standby whose storage does not hold the file the URL names.
//
// Kubernetes has no "route to the lease holder" of its own, so the leader
// keeps the label true: when it wins the election it labels its own Pod
// first (the Service never goes without an endpoint) and then takes the
// label off every other Pod that still carries it, such as a killed
// leader's Pod whose container restarted as a standby. The artifact URLs
// stay the same across a failover, since they name the Service
// (--storage-adv-addr); the new leader's storage starts empty and each
// source's first reconcile after the takeover finds its artifact missing
// and writes it again.
const LeaderLabel = "ferrycd.io/leader"

// Environment variables the Deployment fills from the downward API, naming
// the replica's own Pod.
const (
	podNameEnv      = "POD_NAME"
	podNamespaceEnv = "POD_NAMESPACE"
)

// leaderLabelResync is how often the leader checks the labels again, so
// that a label someone removed, or a second Pod labelled by hand, is
// corrected without a restart.
const leaderLabelResync = time.Minute

// leaderLabeler is the runnable that keeps LeaderLabel on the leader's Pod
// only. It needs leader election, so it starts when this replica becomes
// the leader (at once when election is off: the single replica leads).
type leaderLabeler struct {
	// reader lists Pods straight from the API server: a cached client would
	// start an informer holding every Pod of the namespace.
	reader client.Reader
	writer client.Client
	log    logr.Logger
	value  string
	pod    types.NamespacedName
}

// newLeaderLabeler returns the labeler for the Pod named by POD_NAME and
// POD_NAMESPACE, or nil when they are not set (a process run outside a
// Pod, where no Service routes to it).
func newLeaderLabeler(reader client.Reader, writer client.Client, log logr.Logger, controller string) *leaderLabeler {
	name, ns := os.Getenv(podNameEnv), os.Getenv(podNamespaceEnv)
	if name == "" || ns == "" {
		return nil
	}
	return &leaderLabeler{reader: reader, writer: writer, log: log.WithName("leader-label"), value: controller,
		pod: types.NamespacedName{Namespace: ns, Name: name}}
}

// NeedLeaderElection makes the labeler run on the leader only.
func (l *leaderLabeler) NeedLeaderElection() bool { return true }

// Start labels the leader's Pod, retrying with backoff until it succeeds,
// and then checks again every leaderLabelResync until the process stops.
func (l *leaderLabeler) Start(ctx context.Context) error {
	retry := labelBackoff()
	for {
		delay := leaderLabelResync
		if err := l.ensure(ctx); err != nil {
			l.log.Error(err, "unable to move the leader label to this replica's Pod", "pod", l.pod.String())
			delay = retry.Step()
		} else {
			retry = labelBackoff()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
	}
}

// labelBackoff spaces the retries of a failed labelling: quick at first,
// since the Service routes to no replica that has the artifacts until the
// label moves.
func labelBackoff() wait.Backoff {
	return wait.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Steps: math.MaxInt32, Cap: 10 * time.Second}
}

// ensure puts the label on the own Pod, then removes it from the others.
func (l *leaderLabeler) ensure(ctx context.Context) error {
	own := &corev1.Pod{}
	if err := l.reader.Get(ctx, l.pod, own); err != nil {
		return fmt.Errorf("reading the own Pod: %w", err)
	}
	if own.Labels[LeaderLabel] != l.value {
		if err := l.setLabel(ctx, own, &l.value); err != nil {
			return err
		}
		l.log.Info("labelled this replica's Pod as the leader", "pod", l.pod.String())
	}
	pods := &corev1.PodList{}
	if err := l.reader.List(ctx, pods, client.InNamespace(l.pod.Namespace), client.MatchingLabels{LeaderLabel: l.value}); err != nil {
		return fmt.Errorf("listing the Pods labelled %s=%s: %w", LeaderLabel, l.value, err)
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Name == l.pod.Name {
			continue
		}
		if err := l.setLabel(ctx, p, nil); client.IgnoreNotFound(err) != nil {
			return err
		}
		l.log.Info("took the leader label off a former leader's Pod", "pod", p.Name)
	}
	return nil
}

// setLabel sets LeaderLabel on pod to *value, or removes it when value is
// nil, with a merge patch that fails if the Pod changed in between (a
// former leader's Pod deleted and re-created under the same name must not
// lose a label it did not have).
func (l *leaderLabeler) setLabel(ctx context.Context, pod *corev1.Pod, value *string) error {
	before := pod.DeepCopy()
	if value != nil {
		if pod.Labels == nil {
			pod.Labels = map[string]string{}
		}
		pod.Labels[LeaderLabel] = *value
	} else {
		delete(pod.Labels, LeaderLabel)
	}
	patch := client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})
	if err := l.writer.Patch(ctx, pod, patch); err != nil {
		return fmt.Errorf("patching the labels of Pod %s: %w", pod.Name, err)
	}
	return nil
}
