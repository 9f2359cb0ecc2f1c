package diff

import (
	"bytes"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func secret(data, stringData map[string]any) *unstructured.Unstructured {
	o := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "s", "namespace": "ns"}}}
	if data != nil {
		o.Object["data"] = data
	}
	if stringData != nil {
		o.Object["stringData"] = stringData
	}
	return o
}

func TestMaskSecrets(t *testing.T) {
	same, old, next := encode("same-plaintext"), encode("old-plaintext"), encode("new-plaintext")
	for _, tc := range []struct {
		name                  string
		live, desired         *unstructured.Unstructured
		wantLive, wantDesired map[string]any
	}{{
		name:        "changed, unchanged, added and removed keys",
		live:        secret(map[string]any{"a": same, "b": old, "gone": old}, nil),
		desired:     secret(map[string]any{"a": same, "b": next, "new": next}, nil),
		wantLive:    map[string]any{"a": Masked, "b": MaskedBefore, "gone": Masked},
		wantDesired: map[string]any{"a": Masked, "b": MaskedAfter, "new": Masked},
	}, {
		name:        "stringData compares with data",
		live:        secret(map[string]any{"a": same, "b": old}, nil),
		desired:     secret(nil, map[string]any{"a": "same-plaintext", "b": "new-plaintext"}),
		wantLive:    map[string]any{"a": Masked, "b": MaskedBefore},
		wantDesired: nil,
	}, {
		name:        "created",
		desired:     secret(map[string]any{"a": same}, map[string]any{"b": "new-plaintext"}),
		wantDesired: map[string]any{"a": Masked},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			MaskSecrets(tc.live, tc.desired)
			if tc.live != nil {
				g.Expect(tc.live.Object["data"]).To(Equal(tc.wantLive))
			}
			if tc.wantDesired != nil {
				g.Expect(tc.desired.Object["data"]).To(Equal(tc.wantDesired))
			}
			for _, o := range []*unstructured.Unstructured{tc.live, tc.desired} {
				if o == nil {
					continue
				}
				y, err := toYAML(o)
				g.Expect(err).NotTo(HaveOccurred())
				for _, secret := range []string{"same-plaintext", "old-plaintext", "new-plaintext", same, old, next} {
					g.Expect(y).NotTo(ContainSubstring(secret))
				}
			}
		})
	}
}

func TestMaskSecretsLeavesOtherKindsAlone(t *testing.T) {
	g := NewWithT(t)
	cm := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"a": "b"}}}
	MaskSecrets(cm, nil)
	g.Expect(cm.Object["data"]).To(Equal(map[string]any{"a": "b"}))
}

func TestMaskSecretsLastApplied(t *testing.T) {
	g := NewWithT(t)
	s := secret(map[string]any{"a": encode("x")}, nil)
	s.SetAnnotations(map[string]string{lastApplied: `{"data":{"a":"plain"}}`, "keep": "me"})
	MaskSecrets(s, nil)
	g.Expect(s.GetAnnotations()).To(Equal(map[string]string{lastApplied: Masked, "keep": "me"}))
}

func cm(value string, extra map[string]any) *unstructured.Unstructured {
	md := map[string]any{"name": "web", "namespace": "ns"}
	for k, v := range extra {
		md[k] = v
	}
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": md, "data": map[string]any{"value": value}}}
}

func TestUnified(t *testing.T) {
	noise := map[string]any{"resourceVersion": "12", "uid": "u", "generation": int64(3),
		"creationTimestamp": "2026-01-01T00:00:00Z", "managedFields": []any{map[string]any{"manager": "x"}}}
	for _, tc := range []struct {
		name          string
		live, desired *unstructured.Unstructured
		want          []string
		none          bool
	}{
		{name: "server noise is not a change", live: cm("v1", noise), desired: cm("v1", nil), none: true},
		{name: "a change", live: cm("v1", noise), desired: cm("v2", nil),
			want: []string{"--- live/ConfigMap/ns/web", "+++ merged/ConfigMap/ns/web", "-  value: v1", "+  value: v2"}},
		{name: "created", desired: cm("v1", nil), want: []string{"+kind: ConfigMap", "+  value: v1"}},
		{name: "pruned", live: cm("v1", noise), want: []string{"-kind: ConfigMap", "-  value: v1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			out, err := Unified("ConfigMap/ns/web", tc.live, tc.desired, 3)
			g.Expect(err).NotTo(HaveOccurred())
			if tc.none {
				g.Expect(out).To(BeEmpty())
				return
			}
			for _, w := range tc.want {
				g.Expect(out).To(ContainSubstring(w))
			}
			g.Expect(out).NotTo(ContainSubstring("resourceVersion"))
			g.Expect(out).NotTo(ContainSubstring("managedFields"))
		})
	}
}

func TestPrint(t *testing.T) {
	r := &Result{Revision: "main@sha1:abc", Objects: []ObjectDiff{
		{Ref: "ConfigMap/ns/a", Action: Configured, Drift: true, Diff: "--- live/x\n+++ merged/x\n@@ -1 +1 @@\n-a\n+b\n"},
		{Ref: "ConfigMap/ns/b", Action: Unchanged},
		{Ref: "Secret/ns/c", Action: Skipped, Note: "SOPS-encrypted"},
	}, Notes: []string{"something to know"}}
	for _, color := range []bool{false, true} {
		g := NewWithT(t)
		var b bytes.Buffer
		g.Expect(Print(&b, r, color)).To(Succeed())
		out := b.String()
		g.Expect(out).To(ContainSubstring("ConfigMap/ns/a changed (drift"))
		g.Expect(out).NotTo(ContainSubstring("ConfigMap/ns/b"))
		g.Expect(out).To(ContainSubstring("Secret/ns/c skipped: SOPS-encrypted"))
		g.Expect(out).To(ContainSubstring("note: something to know"))
		g.Expect(out).To(ContainSubstring("0 created, 1 changed, 0 replaced, 0 pruned, 1 unchanged, 1 skipped (against main@sha1:abc)"))
		g.Expect(strings.Contains(out, "\x1b[")).To(Equal(color), "colour only when asked for")
	}
	g := NewWithT(t)
	g.Expect(r.Changed()).To(BeTrue())
	g.Expect((&Result{Objects: []ObjectDiff{{Action: Unchanged}, {Action: Skipped}}}).Changed()).To(BeFalse())
}

func TestProxyURL(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "http://source-controller.ferry-system.svc.cluster.local./gitrepository/ns/app/abc.tar.gz",
			want: "https://api:6443/api/v1/namespaces/ferry-system/services/source-controller:80/proxy/gitrepository/ns/app/abc.tar.gz"},
		{in: "http://source-controller.flux-system.svc:9090/x.tar.gz",
			want: "https://api:6443/api/v1/namespaces/flux-system/services/source-controller:9090/proxy/x.tar.gz"},
		{in: "https://sc.ns/x.tgz?a=b", want: "https://api:6443/api/v1/namespaces/ns/services/https:sc:443/proxy/x.tgz?a=b"},
		{in: "http://127.0.0.1:9000/x.tar.gz", err: "an address"},
		{in: "http://example.com.evil/x.tar.gz", err: "does not name"},
		{in: "http://localhost/x.tar.gz", err: "does not name"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			g := NewWithT(t)
			got, err := ProxyURL("https://api:6443/", tc.in)
			if tc.err != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.err)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tc.want))
		})
	}
}

func TestLooksEncrypted(t *testing.T) {
	g := NewWithT(t)
	g.Expect(looksEncrypted([]byte("token: ENC[AES256_GCM,data:abc]\nsops:\n  version: 3.9\n"))).To(BeTrue())
	g.Expect(looksEncrypted([]byte("TOKEN=ENC[AES256_GCM,data:x]\nsops_version=3.9.0\n"))).To(BeTrue())
	g.Expect(looksEncrypted([]byte("TOKEN=plain\n"))).To(BeFalse())
}
