package rollouts

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	rolloutsv1alpha1 "github.com/ferrycd/ferry/pkg/apis/rollouts/v1alpha1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/suite"
)

// timeout bounds every wait on the controllers; pods on the kwok node
// become Ready in seconds, but the machine is shared.
const timeout = 2 * time.Minute

// app is the Git side of one test: the manifests a team keeps for a web
// app rolled out by canary, as Argo Rollouts' workloadRef docs write them.
type app struct {
	// image is the Deployment's container image.
	image string
	// replicas, when set, is written into the Deployment's spec (which a
	// Rollout with workloadRef should not have; see docs/rollouts.md).
	replicas string
}

// files are the manifests of the app under apps/.
func (a app) files() map[string]string {
	replicas := ""
	if a.replicas != "" {
		replicas = "  replicas: " + a.replicas + "\n"
	}
	return map[string]string{
		"apps/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" +
			"resources: [deployment.yaml, rollout.yaml, services.yaml]\n",
		"apps/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
` + replicas + `  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: ` + a.image + `
        ports: [{containerPort: 8080}]
`,
		"apps/rollout.yaml": `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  replicas: 2
  workloadRef:
    apiVersion: apps/v1
    kind: Deployment
    name: web
  strategy:
    canary:
      stableService: web-stable
      canaryService: web-canary
      steps:
      - setWeight: 50
      - pause: {}
      - setWeight: 100
`,
		"apps/services.yaml": service("web-stable") + "---\n" + service("web-canary"),
	}
}

func service(name string) string {
	return `apiVersion: v1
kind: Service
metadata:
  name: ` + name + `
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`
}

// gitops is one test's namespace, repository, GitRepository and
// Kustomization (spec.wait: health-checks everything it applied, the
// Rollout included).
type gitops struct {
	t    *testing.T
	ns   string
	repo string
	src  *sourcev1.GitRepository
	ks   *kustomizev1.Kustomization
}

// newGitops commits a's manifests and creates the GitRepository and the
// Kustomization that applies them into a new namespace.
func newGitops(t *testing.T, a app) *gitops {
	t.Helper()
	g := NewWithT(t)
	ns := suite.NewNamespace(t, env.Client, "rollouts-")
	t.Cleanup(func() {
		_ = env.Client.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	})
	o := &gitops{t: t, ns: ns, repo: ns + "/app.git"}
	_, err := gitSrv.Commit(o.repo, "main", "web "+a.image, a.files())
	g.Expect(err).NotTo(HaveOccurred())
	o.src = &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns},
		Spec: sourcev1.GitRepositorySpec{URL: gitSrv.URL(o.repo), Interval: metav1.Duration{Duration: time.Hour},
			Reference: &sourcev1.GitRepositoryRef{Branch: "main"}},
	}
	o.ks = &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns},
		Spec: kustomizev1.KustomizationSpec{
			Interval: metav1.Duration{Duration: time.Hour}, Path: "./apps", Prune: true, TargetNamespace: ns,
			Wait: true, Timeout: &metav1.Duration{Duration: 5 * time.Minute},
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "app"},
		},
	}
	g.Expect(env.Client.Create(context.Background(), o.src)).To(Succeed())
	g.Expect(env.Client.Create(context.Background(), o.ks)).To(Succeed())
	return o
}

// commit pushes a's manifests and asks the GitRepository to fetch them at
// once, as a Receiver would; it returns the revision the Kustomization
// will apply.
func (o *gitops) commit(a app) string {
	o.t.Helper()
	head, err := gitSrv.Commit(o.repo, "main", "web "+a.image, a.files())
	NewWithT(o.t).Expect(err).NotTo(HaveOccurred())
	suite.RequestReconcile(o.t, env.Client, o.src, timeout)
	return "main@sha1:" + head
}

func (o *gitops) key(name string) client.ObjectKey {
	return client.ObjectKey{Namespace: o.ns, Name: name}
}

func (o *gitops) rollout(g Gomega) *rolloutsv1alpha1.Rollout {
	ro := &rolloutsv1alpha1.Rollout{}
	g.Expect(env.Client.Get(context.Background(), o.key("web"), ro)).To(Succeed())
	return ro
}

func (o *gitops) kustomization(g Gomega) *kustomizev1.Kustomization {
	ks := &kustomizev1.Kustomization{}
	g.Expect(env.Client.Get(context.Background(), o.key("app"), ks)).To(Succeed())
	return ks
}

func (o *gitops) deployment(g Gomega) *appsv1.Deployment {
	d := &appsv1.Deployment{}
	g.Expect(env.Client.Get(context.Background(), o.key("web"), d)).To(Succeed())
	return d
}

func (o *gitops) service(g Gomega, name string) *corev1.Service {
	svc := &corev1.Service{}
	g.Expect(env.Client.Get(context.Background(), o.key(name), svc)).To(Succeed())
	return svc
}

// images counts the rollout's pods by image, Ready ones only.
func (o *gitops) images(g Gomega) map[string]int {
	var pods corev1.PodList
	g.Expect(env.Client.List(context.Background(), &pods, client.InNamespace(o.ns),
		client.MatchingLabels{"app": "web"})).To(Succeed())
	out := map[string]int{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				out[p.Spec.Containers[0].Image]++
			}
		}
	}
	return out
}

// condition is the Kustomization's condition t, "" when absent, as
// "status reason: message" for assertions that read like kubectl describe.
func condition(conds []metav1.Condition, t string) string {
	for _, c := range conds {
		if c.Type == t {
			return fmt.Sprintf("%s %s: %s", c.Status, c.Reason, c.Message)
		}
	}
	return ""
}
