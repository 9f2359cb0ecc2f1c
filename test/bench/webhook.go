package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	notificationv1 "github.com/ferrycd/ferry/pkg/apis/notification/v1"
	sourcev1 "github.com/ferrycd/ferry/pkg/apis/source/v1"
	"github.com/ferrycd/ferry/test/gitserver"
)

// runWebhook measures, N times, the time from a push announced through a
// Receiver webhook to the new revision applied by a Kustomization and Ready.
func runWebhook(ctx context.Context, env *Env) (*Result, error) {
	c, err := benchClient(env)
	if err != nil {
		return nil, err
	}
	srv, err := gitserver.Start()
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	const ns, repo = "bench-webhook", "bench/app.git"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return nil, err
	}
	cm := func(v int) map[string]string {
		return map[string]string{"app/cm.yaml": fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  v: %q\n", fmt.Sprint(v))}
	}
	if _, err := srv.Commit(repo, "main", "v0", cm(0)); err != nil {
		return nil, err
	}
	objs := []client.Object{
		&sourcev1.GitRepository{
			ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns},
			Spec: sourcev1.GitRepositorySpec{URL: srv.URL(repo), Interval: metav1.Duration{Duration: time.Hour},
				Reference: &sourcev1.GitRepositoryRef{Branch: "main"}},
		},
		&kustomizev1.Kustomization{
			ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns},
			Spec: kustomizev1.KustomizationSpec{Interval: metav1.Duration{Duration: time.Hour}, Path: "./app", Prune: true,
				TargetNamespace: ns, SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "app"}},
		},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "token", Namespace: ns}, StringData: map[string]string{"token": "bench-token"}},
		&notificationv1.Receiver{
			ObjectMeta: metav1.ObjectMeta{Name: "push", Namespace: ns},
			Spec: notificationv1.ReceiverSpec{Type: notificationv1.GenericReceiver,
				SecretRef: fluxmeta.LocalObjectReference{Name: "token"},
				Resources: []notificationv1.CrossNamespaceObjectReference{{Kind: sourcev1.GitRepositoryKind, Name: "app"}}},
		},
	}
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			return nil, err
		}
	}
	ks := &kustomizev1.Kustomization{}
	rcv := &notificationv1.Receiver{}
	applied := func(revision string) func() bool {
		return func() bool {
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app"}, ks); err != nil {
				return false
			}
			return conditions.IsReady(ks) && (revision == "" || ks.Status.LastAppliedRevision == revision)
		}
	}
	if err := poll(2*time.Minute, 20*time.Millisecond, applied("")); err != nil {
		return nil, err
	}
	if err := poll(time.Minute, 20*time.Millisecond, func() bool {
		return c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "push"}, rcv) == nil && rcv.Status.WebhookPath != ""
	}); err != nil {
		return nil, err
	}
	var ds []time.Duration
	for i := 1; i <= env.N; i++ {
		head, err := srv.Commit(repo, "main", fmt.Sprint(i), cm(i))
		if err != nil {
			return nil, err
		}
		start := time.Now()
		resp, err := http.Post("http://"+env.Addrs.Receiver+rcv.Status.WebhookPath, "application/json", nil)
		if err != nil {
			return nil, err
		}
		_ = resp.Body.Close()
		if err := poll(time.Minute, 20*time.Millisecond, applied("main@sha1:"+head)); err != nil {
			return nil, err
		}
		ds = append(ds, time.Since(start))
	}
	p50, p95 := percentiles(ds)
	res := &Result{}
	res.Add(fmt.Sprintf("push → webhook → applied and Ready, median of %d", env.N), ms(p50))
	res.Add("push → webhook → applied and Ready, p95", ms(p95))
	return res, nil
}

// poll calls ok every interval until it holds or timeout passes.
func poll(timeout, interval time.Duration, ok func() bool) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if ok() {
			return nil
		}
		time.Sleep(interval)
	}
	return fmt.Errorf("condition not met within %s", timeout)
}
