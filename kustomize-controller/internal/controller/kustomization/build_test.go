package kustomization

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	"github.com/getsops/sops/v3/cmd/sops/formats"
	"github.com/getsops/sops/v3/keys"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ferrycd/ferry/kustomize-controller/internal/decrypt/sopstest"
	kustomizev1 "github.com/ferrycd/ferry/pkg/apis/kustomize/v1"
	"github.com/ferrycd/ferry/pkg/apis/meta"
)

// The plain values of the encrypted Secrets below; none may ever show up in
// a condition or an event.
const (
	plainPassword = "s3cr3t-db-password"
	plainUsername = "admin-user"
)

// dbSecret is a plain Secret manifest holding the values above, one in
// data and one in stringData, as users commit them before encrypting.
func dbSecret(name string) []byte {
	return fmt.Appendf(nil, `apiVersion: v1
kind: Secret
metadata:
  name: %s
type: Opaque
data:
  password: %s
stringData:
  username: %s
`, name, base64.StdEncoding.EncodeToString([]byte(plainPassword)), plainUsername)
}

// encryptYAML encrypts a Secret manifest's values for the master keys, as
// `sops encrypt --encrypted-regex '^(data|stringData)$'` does.
func encryptYAML(t *testing.T, manifest []byte, mks []keys.MasterKey, pgp ...*openpgp.Entity) string {
	t.Helper()
	return string(sopstest.Encrypt(t, manifest, sopstest.Options{
		Format: formats.Yaml, Keys: mks, PGP: pgp, EncryptedRegex: sopstest.SecretRegex,
	}))
}

func createSecret(t *testing.T, ns, name string, data map[string][]byte) {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: data}
	NewWithT(t).Expect(env.Client.Create(context.Background(), s)).To(Succeed())
}

func getSecret(ns, name string) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, s)
	return s, err
}

func withDecryption(secretName string) func(*kustomizev1.Kustomization) {
	return func(k *kustomizev1.Kustomization) {
		k.Spec.Decryption = &kustomizev1.Decryption{Provider: "sops"}
		if secretName != "" {
			k.Spec.Decryption.SecretRef = &fluxmeta.LocalObjectReference{Name: secretName}
		}
	}
}

func withTargetNamespace(ns string) func(*kustomizev1.Kustomization) {
	return func(k *kustomizev1.Kustomization) { k.Spec.TargetNamespace = ns }
}

// updateSpec changes the stored Kustomization, retrying when the
// controller's status patches race the update.
func updateSpec(t *testing.T, k *kustomizev1.Kustomization, mutate func(*kustomizev1.Kustomization)) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		got := &kustomizev1.Kustomization{}
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(k), got)).To(Succeed())
		mutate(got)
		g.Expect(env.Client.Update(context.Background(), got)).To(Succeed())
	}, timeout, 100*time.Millisecond).Should(Succeed())
}

// requestReconcile asks for a reconcile outside the interval, as
// `flux reconcile` does.
func requestReconcile(t *testing.T, k *kustomizev1.Kustomization) {
	t.Helper()
	updateSpec(t, k, func(k *kustomizev1.Kustomization) {
		if k.Annotations == nil {
			k.Annotations = map[string]string{}
		}
		k.Annotations[fluxmeta.ReconcileRequestAnnotation] = time.Now().Format(time.RFC3339Nano)
	})
}

// expectNoLeak checks that no condition message or event of the namespace
// holds key material or a decrypted value.
func expectNoLeak(t *testing.T, ns string, k *kustomizev1.Kustomization, secrets ...string) {
	t.Helper()
	g := NewWithT(t)
	got := &kustomizev1.Kustomization{}
	g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(k), got)).To(Succeed())
	var texts []string
	for _, c := range got.Status.Conditions {
		texts = append(texts, c.Message)
	}
	var events corev1.EventList
	g.Expect(env.Client.List(context.Background(), &events, client.InNamespace(ns))).To(Succeed())
	for _, e := range events.Items {
		texts = append(texts, e.Message)
	}
	all := strings.Join(texts, "\n")
	leaks := append([]string{"AGE-SECRET-KEY", "PRIVATE KEY", plainPassword, plainUsername,
		base64.StdEncoding.EncodeToString([]byte(plainPassword))}, secrets...)
	for _, leak := range leaks {
		g.Expect(all).NotTo(ContainSubstring(leak))
	}
}

// TestSOPSAge follows a Secret encrypted for age from Git to the cluster:
// refused without spec.decryption, refused with the wrong key, and applied
// in plain text with the right one.
func TestSOPSAge(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	key, wrong := sopstest.NewAgeKey(t), sopstest.NewAgeKey(t)
	createSecret(t, ns, "sops-age", map[string][]byte{"identity.agekey": key.File})
	createSecret(t, ns, "sops-wrong", map[string][]byte{"identity.agekey": wrong.File})
	publish(t, ns, "repo", "main@sha1:1", map[string]string{
		"app/secret.yaml": encryptYAML(t, dbSecret("db"), []keys.MasterKey{key.MasterKey(t)}),
	})

	k := newKustomization(ns, "app", "./app", withTargetNamespace(ns))
	g.Expect(env.Client.Create(context.Background(), k)).To(Succeed())
	got := waitFailed(t, k, kustomizev1.BuildFailedReason,
		"Secret "+ns+"/db is encrypted with SOPS but spec.decryption is not set")
	g.Expect(got.Status.LastAttemptedRevision).To(Equal("main@sha1:1"))
	_, err := getSecret(ns, "db")
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "an encrypted Secret must never be applied")

	updateSpec(t, k, withDecryption("sops-wrong"))
	waitFailed(t, k, kustomizev1.BuildFailedReason,
		"failed to decrypt Secret "+ns+"/db", "it is encrypted for age recipient "+key.Recipient())
	_, err = getSecret(ns, "db")
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
	expectNoLeak(t, ns, k, key.Identity.String(), wrong.Identity.String())

	updateSpec(t, k, withDecryption("sops-age"))
	waitApplied(t, k, "main@sha1:1")
	s, err := getSecret(ns, "db")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(s.Data).To(Equal(map[string][]byte{"password": []byte(plainPassword), "username": []byte(plainUsername)}))
	g.Expect(s.Annotations).NotTo(HaveKey(ContainSubstring("sops")))
	expectNoLeak(t, ns, k, key.Identity.String(), wrong.Identity.String())
}

// TestSOPSPGP decrypts with an armored OpenPGP private key: a Secret
// manifest, and a secretGenerator's dotenv input decrypted before
// kustomize reads it.
func TestSOPSPGP(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	key := sopstest.NewPGPKey(t, "")
	createSecret(t, ns, "sops-gpg", map[string][]byte{"team.asc": key.Armored})
	apiEnv := sopstest.Encrypt(t, []byte("API_TOKEN=tok-123\n"), sopstest.Options{
		Format: formats.Dotenv, Keys: []keys.MasterKey{key.MasterKey()}, PGP: []*openpgp.Entity{key.Entity},
	})
	publish(t, ns, "repo", "main@sha1:1", map[string]string{
		"app/kustomization.yaml": "resources: [secret.yaml]\n" +
			"secretGenerator:\n- name: api\n  envs: [api.env]\n" +
			"generatorOptions:\n  disableNameSuffixHash: true\n",
		"app/secret.yaml": encryptYAML(t, dbSecret("db"), []keys.MasterKey{key.MasterKey()}, key.Entity),
		"app/api.env":     string(apiEnv),
	})

	k := newKustomization(ns, "app", "./app", withTargetNamespace(ns), withDecryption("sops-gpg"))
	g.Expect(env.Client.Create(context.Background(), k)).To(Succeed())
	waitApplied(t, k, "main@sha1:1")

	s, err := getSecret(ns, "db")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(s.Data).To(Equal(map[string][]byte{"password": []byte(plainPassword), "username": []byte(plainUsername)}))
	api, err := getSecret(ns, "api")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(api.Data).To(Equal(map[string][]byte{"API_TOKEN": []byte("tok-123")}))
	expectNoLeak(t, ns, k, "tok-123")
}

// TestPostBuildSubstitution substitutes variables from spec.postBuild, a
// ConfigMap and an optional Secret, in Flux's order of precedence.
func TestPostBuildSubstitution(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	ctx := context.Background()
	g.Expect(env.Client.Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "vars", Namespace: ns},
		Data:       map[string]string{"region": "eu-west-1", "tier": "from-configmap"},
	})).To(Succeed())
	publish(t, ns, "repo", "main@sha1:1", map[string]string{
		"app/settings.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  region: ${region}
  tier: ${tier}
  app: ${app}
  greeting: ${greeting:=hello}
  token: ${token:=unset}
`,
		"app/raw.yaml": configMap("raw", "${app} in ${region}", "kustomize.toolkit.fluxcd.io/substitute: disabled"),
	})
	k := newKustomization(ns, "app", "./app", withTargetNamespace(ns), func(k *kustomizev1.Kustomization) {
		k.Spec.PostBuild = &kustomizev1.PostBuild{
			Substitute: map[string]string{"tier": "from-spec", "app": "web"},
			SubstituteFrom: []kustomizev1.SubstituteReference{
				{Kind: "ConfigMap", Name: "vars"},
				{Kind: "Secret", Name: "secret-vars", Optional: true},
			},
		}
	})
	g.Expect(env.Client.Create(ctx, k)).To(Succeed())
	waitApplied(t, k, "main@sha1:1")

	settings, err := getConfigMap(ns, "settings")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(settings.Data).To(Equal(map[string]string{
		"region": "eu-west-1", "tier": "from-spec", "app": "web", "greeting": "hello", "token": "unset",
	}))
	raw, err := getConfigMap(ns, "raw")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(raw.Data["key"]).To(Equal("${app} in ${region}"), "substitute: disabled must leave the object alone")

	// The optional Secret is read once it exists.
	createSecret(t, ns, "secret-vars", map[string][]byte{"token": []byte("from-secret"), "region": []byte("us-east-1")})
	requestReconcile(t, k)
	g.Eventually(func(g Gomega) {
		settings, err := getConfigMap(ns, "settings")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(settings.Data).To(HaveKeyWithValue("token", "from-secret"))
		g.Expect(settings.Data).To(HaveKeyWithValue("region", "us-east-1"), "a later substituteFrom entry wins")
		g.Expect(settings.Data).To(HaveKeyWithValue("tier", "from-spec"), "spec.postBuild.substitute wins over all")
	}, timeout, 100*time.Millisecond).Should(Succeed())

	// A required reference to a missing object stops the build.
	updateSpec(t, k, func(k *kustomizev1.Kustomization) {
		k.Spec.PostBuild.SubstituteFrom = append(k.Spec.PostBuild.SubstituteFrom,
			kustomizev1.SubstituteReference{Kind: "ConfigMap", Name: "absent"})
	})
	waitFailed(t, k, kustomizev1.BuildFailedReason, "ConfigMap '"+ns+"/absent' not found")
	settings, err = getConfigMap(ns, "settings")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(settings.Data).To(HaveKeyWithValue("token", "from-secret"))
}

// TestBuildFields applies with the spec fields that change the build:
// patches (strategic merge and JSON 6902), images, namePrefix,
// commonMetadata and targetNamespace.
func TestBuildFields(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	ctx := context.Background()
	publish(t, ns, "repo", "main@sha1:1", map[string]string{
		"app/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      nodeSelector: {type: kwok}
      containers:
        - name: app
          image: ghcr.io/example/web:1.0.0
        - name: proxy
          image: ghcr.io/example/proxy:2.0.0
`,
		// The namespace is replaced by targetNamespace; it does not exist.
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: elsewhere\ndata:\n  key: v1\n",
	})
	k := newKustomization(ns, "app", "./app", withTargetNamespace(ns), func(k *kustomizev1.Kustomization) {
		k.Spec.NamePrefix = "team-"
		k.Spec.CommonMetadata = &kustomizev1.CommonMetadata{
			Labels:      map[string]string{"team": "payments"},
			Annotations: map[string]string{"owner": "payments@example.com"},
		}
		k.Spec.Images = []meta.Image{{Name: "ghcr.io/example/web", NewTag: "1.2.3"}}
		k.Spec.Patches = []meta.Patch{
			{Patch: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n"},
			{
				Patch:  `[{"op": "add", "path": "/data/patched", "value": "by-json6902"}]`,
				Target: &meta.Selector{Kind: "ConfigMap", Name: "settings"},
			},
		}
	})
	g.Expect(env.Client.Create(ctx, k)).To(Succeed())
	got := waitApplied(t, k, "main@sha1:1")

	var ids []string
	for _, e := range got.Status.Inventory.Entries {
		ids = append(ids, e.ID)
	}
	g.Expect(ids).To(ConsistOf(ns+"_team-settings__ConfigMap", ns+"_team-web_apps_Deployment"))

	var d appsv1.Deployment
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "team-web"}, &d)).To(Succeed())
	g.Expect(*d.Spec.Replicas).To(Equal(int32(2)), "the strategic merge patch")
	containers := d.Spec.Template.Spec.Containers
	g.Expect(containers).To(HaveLen(2))
	g.Expect(containers[0].Image).To(Equal("ghcr.io/example/web:1.2.3"), "images[].newTag")
	g.Expect(containers[1].Image).To(Equal("ghcr.io/example/proxy:2.0.0"), "other images stay")
	g.Expect(d.Labels).To(HaveKeyWithValue("team", "payments"))
	g.Expect(d.Annotations).To(HaveKeyWithValue("owner", "payments@example.com"))
	// commonMetadata is metadata only: selectors and templates stay as
	// written, unlike kustomize's commonLabels.
	g.Expect(d.Spec.Selector.MatchLabels).To(Equal(map[string]string{"app": "web"}))
	g.Expect(d.Spec.Template.Labels).NotTo(HaveKey("team"))

	cm, err := getConfigMap(ns, "team-settings")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cm.Data).To(Equal(map[string]string{"key": "v1", "patched": "by-json6902"}))
	g.Expect(cm.Labels).To(HaveKeyWithValue("team", "payments"))
	g.Expect(cm.Labels).To(HaveKeyWithValue("kustomize.toolkit.fluxcd.io/name", "app"))
	_, err = getConfigMap(ns, "settings")
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "only the prefixed name is applied")
}

// TestSSAAnnotations checks the per-object apply policies: ssa: IfNotPresent
// creates an object once and leaves it to the cluster after that, and
// reconcile: disabled never writes an object at all.
func TestSSAAnnotations(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ns := newNamespace(t)
	ctx := context.Background()
	const (
		ifNotPresent = kustomizev1.SSAAnnotation + ": " + kustomizev1.IfNotPresentValue
		disabled     = kustomizev1.ReconcileAnnotation + ": " + kustomizev1.DisabledValue
	)
	// frozen exists before the Kustomization and is edited by hand only.
	g.Expect(env.Client.Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "frozen", Namespace: ns},
		Data:       map[string]string{"key": "manual"},
	})).To(Succeed())
	files := func(v string) map[string]string {
		return map[string]string{
			"app/normal.yaml":  configMap("normal", v),
			"app/seed.yaml":    configMap("seed", v, ifNotPresent),
			"app/frozen.yaml":  configMap("frozen", v, disabled),
			"app/skipped.yaml": configMap("skipped", v, disabled),
		}
	}
	publish(t, ns, "repo", "main@sha1:1", files("v1"))
	k := newKustomization(ns, "app", "./app", withTargetNamespace(ns))
	g.Expect(env.Client.Create(ctx, k)).To(Succeed())
	waitApplied(t, k, "main@sha1:1")

	seed, err := getConfigMap(ns, "seed")
	g.Expect(err).NotTo(HaveOccurred(), "IfNotPresent creates a missing object")
	g.Expect(seed.Data["key"]).To(Equal("v1"))
	frozen, err := getConfigMap(ns, "frozen")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(frozen.Data["key"]).To(Equal("manual"))
	g.Expect(frozen.Labels).NotTo(HaveKey("kustomize.toolkit.fluxcd.io/name"))
	_, err = getConfigMap(ns, "skipped")
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "reconcile: disabled must not create the object")

	seed.Data["key"] = "edited in cluster"
	g.Expect(env.Client.Update(ctx, seed)).To(Succeed())
	publish(t, ns, "repo", "main@sha1:2", files("v2"))
	got := waitApplied(t, k, "main@sha1:2")

	normal, err := getConfigMap(ns, "normal")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(normal.Data["key"]).To(Equal("v2"))
	seed, err = getConfigMap(ns, "seed")
	g.Expect(err).NotTo(HaveOccurred(), "an IfNotPresent object must be neither overwritten nor pruned")
	g.Expect(seed.Data["key"]).To(Equal("edited in cluster"))
	frozen, err = getConfigMap(ns, "frozen")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(frozen.Data["key"]).To(Equal("manual"))
	_, err = getConfigMap(ns, "skipped")
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
	var ids []string
	for _, e := range got.Status.Inventory.Entries {
		ids = append(ids, e.ID)
	}
	g.Expect(ids).To(ContainElements(ns+"_normal__ConfigMap", ns+"_seed__ConfigMap"), "the IfNotPresent object stays owned")
}
