package hygiene

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
	"github.com/getsops/sops/v3/version"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const timeout = 90 * time.Second

// ageKey is a fresh age identity: the private half is a secret, as a
// decryption Secret's identity.agekey holds it.
func ageKey(t *testing.T) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// encryptSecret encrypts a Secret manifest for recipient with the sops
// library, only its data and stringData, as `sops encrypt --age <recipient>
// --encrypted-regex '^(data|stringData)$'` writes it.
func encryptSecret(t *testing.T, manifest string, recipient *age.X25519Recipient) string {
	t.Helper()
	store := sopsyaml.NewStore(&config.YAMLStoreConfig{})
	branches, err := store.LoadPlainFile([]byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	mk, err := sopsage.MasterKeyFromRecipient(recipient.String())
	if err != nil {
		t.Fatal(err)
	}
	dataKey := make([]byte, 32)
	if _, err := rand.Read(dataKey); err != nil {
		t.Fatal(err)
	}
	if err := mk.Encrypt(dataKey); err != nil {
		t.Fatal(err)
	}
	tree := sops.Tree{Branches: branches, Metadata: sops.Metadata{
		KeyGroups:      []sops.KeyGroup{{mk}},
		EncryptedRegex: "^(data|stringData)$",
		Version:        version.Version,
		LastModified:   time.Now().UTC(),
	}}
	cipher := aes.NewCipher()
	mac, err := tree.Encrypt(dataKey, cipher)
	if err != nil {
		t.Fatal(err)
	}
	if tree.Metadata.MessageAuthenticationCode, err = cipher.Encrypt(mac, dataKey, tree.Metadata.LastModified.Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	out, err := store.EmitEncryptedFile(tree)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// sink is the loopback notification receiver: a Slack Web API stand-in
// that checks the bot token, and a webhook at a secret path that checks an
// API key header. It records every body it gets, accepted or not.
type sink struct {
	*httptest.Server
	slackToken, hookPath, apiKey string

	mu       sync.Mutex
	bodies   []string
	accepted map[string]int
	refused  map[string]int
}

func newSink(slackToken, hookPath, apiKey string) *sink {
	s := &sink{slackToken: slackToken, hookPath: hookPath, apiKey: apiKey,
		accepted: map[string]int{}, refused: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

func (s *sink) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bodies = append(s.bodies, string(body))
	switch {
	case r.URL.Path == "/slack" && r.Header.Get("Authorization") == "Bearer "+s.slackToken:
		s.accepted["slack"]++
		_, _ = io.WriteString(w, `{"ok":true}`)
	case r.URL.Path == "/slack":
		// What Slack answers a bad token: 200 with ok false.
		s.refused["slack"]++
		_, _ = io.WriteString(w, `{"ok":false,"error":"invalid_auth"}`)
	case r.URL.Path == "/hooks/"+s.hookPath && r.Header.Get("X-Api-Key") == s.apiKey:
		s.accepted["webhook"]++
	case strings.HasPrefix(r.URL.Path, "/hooks/"):
		s.refused["webhook"]++
		http.NotFound(w, r)
	default:
		s.refused["other"]++
		http.NotFound(w, r)
	}
}

// counts returns how many requests of kind were accepted and refused.
func (s *sink) counts(kind string) (accepted, refused int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted[kind], s.refused[kind]
}

func (s *sink) payloads() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

// apply applies manifests as the cluster admin with strict validation.
func apply(t testing.TB, manifests string) {
	t.Helper()
	if _, err := testCluster.Kubectl([]byte(manifests), "apply", "--validate=strict", "-f", "-"); err != nil {
		t.Fatal(err)
	}
}

// fluxKinds are every kind the four controllers reconcile and write status
// to.
var fluxKinds = []schema.GroupVersionKind{
	{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "GitRepository"},
	{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "HelmRepository"},
	{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "HelmChart"},
	{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "OCIRepository"},
	{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Kind: "Kustomization"},
	{Group: "helm.toolkit.fluxcd.io", Version: "v2", Kind: "HelmRelease"},
	{Group: "notification.toolkit.fluxcd.io", Version: "v1beta3", Kind: "Provider"},
	{Group: "notification.toolkit.fluxcd.io", Version: "v1beta3", Kind: "Alert"},
	{Group: "notification.toolkit.fluxcd.io", Version: "v1", Kind: "Receiver"},
}

// list returns every object of gvk in all namespaces.
func list(t testing.TB, gvk schema.GroupVersionKind) []unstructured.Unstructured {
	t.Helper()
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := testCluster.Client.List(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// condition returns the status and message of the object's condition typ.
func condition(g Gomega, gvk schema.GroupVersionKind, ns, name, typ string) (status, message string) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	g.Expect(testCluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u)).To(Succeed())
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			s, _ := m["status"].(string)
			msg, _ := m["message"].(string)
			return s, msg
		}
	}
	return "", ""
}

// expectReady waits for Ready=want with a message holding contains.
func expectReady(t testing.TB, kind, ns, name, want, contains string) string {
	t.Helper()
	gvk := kindGVK(t, kind)
	var msg string
	NewWithT(t).Eventually(func(g Gomega) {
		var status string
		status, msg = condition(g, gvk, ns, name, "Ready")
		g.Expect(status).To(Equal(want), "%s %s/%s: %s", kind, ns, name, msg)
		g.Expect(msg).To(ContainSubstring(contains), "%s %s/%s", kind, ns, name)
	}, timeout, 200*time.Millisecond).Should(Succeed())
	return msg
}

func kindGVK(t testing.TB, kind string) schema.GroupVersionKind {
	for _, gvk := range fluxKinds {
		if gvk.Kind == kind {
			return gvk
		}
	}
	t.Fatalf("no such kind %s", kind)
	return schema.GroupVersionKind{}
}

// jsonOf is obj as JSON, what a scan reads of an API object.
func jsonOf(t testing.TB, obj any) []byte {
	t.Helper()
	data, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// get fetches url's body.
func get(t testing.TB, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return data
}
