package crds

import (
	"encoding/json"
	"testing"

	. "github.com/onsi/gomega"
)

// notificationVersionObjects are the same Provider and Alert written once for
// Flux before 2.10 (v1beta3) and once for Flux 2.10 (v1).
const notificationVersionObjects = `
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata:
  name: old
spec:
  type: slack
  channel: general
  address: https://slack.com/api/chat.postMessage
  timeout: 10s
---
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Provider
metadata:
  name: new
spec:
  type: slack
  channel: general
  address: https://slack.com/api/chat.postMessage
  timeout: 10s
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata:
  name: old
spec:
  providerRef:
    name: old
  eventSources:
    - kind: Kustomization
      name: '*'
---
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Alert
metadata:
  name: new
spec:
  providerRef:
    name: old
  eventSources:
    - kind: Kustomization
      name: '*'
`

// TestNotificationV1AndV1beta3 checks Flux 2.10's notification API: Provider
// and Alert manifests apply at v1 and at v1beta3, both read back at v1 (the
// version kubectl prefers and the controller reads) with the same spec, are
// stored at v1, and the two versions have one schema, which is what lets the
// API server convert between them without a webhook.
func TestNotificationV1AndV1beta3(t *testing.T) {
	g := NewWithT(t)
	const ns = "notification-versions"
	ensureNamespace(t, ns)
	_, err := testCluster.Kubectl([]byte(notificationVersionObjects), "apply", "--validate=strict", "-n", ns, "-f", "-")
	g.Expect(err).NotTo(HaveOccurred())

	for _, kind := range []string{"providers", "alerts"} {
		specs := map[string]any{}
		for _, name := range []string{"old", "new"} {
			for _, resource := range []string{kind, kind + ".v1.notification.toolkit.fluxcd.io"} {
				obj := getJSON(t, "get", resource, name, "-n", ns)
				g.Expect(obj["apiVersion"]).To(Equal("notification.toolkit.fluxcd.io/v1"), "%s %s", resource, name)
				specs[name] = obj["spec"]
			}
			old := getJSON(t, "get", kind+".v1beta3.notification.toolkit.fluxcd.io", name, "-n", ns)
			g.Expect(old["apiVersion"]).To(Equal("notification.toolkit.fluxcd.io/v1beta3"))
			g.Expect(old["spec"]).To(Equal(specs[name]))
		}
		g.Expect(specs["old"]).To(Equal(specs["new"]), kind)

		crd := getJSON(t, "get", "crd", kind+".notification.toolkit.fluxcd.io")
		var parsed struct {
			Spec struct {
				Versions []struct {
					Name    string          `json:"name"`
					Served  bool            `json:"served"`
					Storage bool            `json:"storage"`
					Schema  json.RawMessage `json:"schema"`
				} `json:"versions"`
			} `json:"spec"`
			Status struct {
				StoredVersions []string `json:"storedVersions"`
			} `json:"status"`
		}
		data, _ := json.Marshal(crd)
		g.Expect(json.Unmarshal(data, &parsed)).To(Succeed())
		g.Expect(parsed.Status.StoredVersions).To(Equal([]string{"v1"}), kind)
		versions := map[string]int{}
		for i, v := range parsed.Spec.Versions {
			versions[v.Name] = i
			g.Expect(v.Served).To(BeTrue(), "%s %s", kind, v.Name)
			g.Expect(v.Storage).To(Equal(v.Name == "v1"), "%s %s", kind, v.Name)
		}
		g.Expect(versions).To(HaveLen(2))
		g.Expect(versions).To(HaveKey("v1beta3"))
		v1, v1beta3 := parsed.Spec.Versions[versions["v1"]], parsed.Spec.Versions[versions["v1beta3"]]
		g.Expect(string(v1.Schema)).To(MatchJSON(string(v1beta3.Schema)), "%s: the versions' schemas differ", kind)
	}
}

// getJSON runs kubectl with -o json and decodes the object it prints.
func getJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	out, err := testCluster.Kubectl(nil, append(args, "-o", "json")...)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		t.Fatalf("kubectl %v: %v", args, err)
	}
	return obj
}
