package events

import (
	"strings"
	"testing"
	"time"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	. "github.com/onsi/gomega"
)

func TestDecodeEventRejectsInvalidEvents(t *testing.T) {
	for name, mutate := range map[string]func(*eventv1.Event){
		"no kind":          func(e *eventv1.Event) { e.InvolvedObject.Kind = "" },
		"no name":          func(e *eventv1.Event) { e.InvolvedObject.Name = "" },
		"no namespace":     func(e *eventv1.Event) { e.InvolvedObject.Namespace = "" },
		"long name":        func(e *eventv1.Event) { e.InvolvedObject.Name = strings.Repeat("a", 254) },
		"trace severity":   func(e *eventv1.Event) { e.Severity = eventv1.EventSeverityTrace },
		"unknown severity": func(e *eventv1.Event) { e.Severity = "fatal" },
		"no reason":        func(e *eventv1.Event) { e.Reason = "" },
		"no message":       func(e *eventv1.Event) { e.Message = "" },
		"long message":     func(e *eventv1.Event) { e.Message = strings.Repeat("é", maxMessageRunes+1) },
		"many metadata keys": func(e *eventv1.Event) {
			for i := range maxMetadataKeys + 1 {
				e.Metadata[strings.Repeat("k", i+1)] = "v"
			}
		},
		"large metadata": func(e *eventv1.Event) { e.Metadata["big"] = strings.Repeat("v", maxMetadataBytes) },
	} {
		t.Run(name, func(t *testing.T) {
			_, err := decodeEvent(encode(t, newEvent(mutate)), time.Now())
			NewWithT(t).Expect(err).To(HaveOccurred())
		})
	}
	for _, body := range []string{"", "{", "[]", "null", `{"involvedObject": 5}`, "\xff\xfe"} {
		_, err := decodeEvent([]byte(body), time.Now())
		NewWithT(t).Expect(err).To(HaveOccurred(), "%q", body)
	}
}

// TestDecodeEventSplitsMetadata checks Flux's metadata cleanup: keys under
// the object's group lose the prefix, digests are dropped, object
// annotations are kept apart, and anything else is discarded.
func TestDecodeEventSplitsMetadata(t *testing.T) {
	g := NewWithT(t)
	e := newEvent(func(e *eventv1.Event) {
		e.Metadata = map[string]string{
			"source.toolkit.fluxcd.io/revision": "main@sha1:abc",
			"source.toolkit.fluxcd.io/digest":   "sha256:def",
			"source.toolkit.fluxcd.io/checksum": "123",
			"event.toolkit.fluxcd.io/team":      "platform",
			"kustomize.toolkit.fluxcd.io/other": "dropped",
			"plain":                             "dropped",
		}
		e.Timestamp.Time = time.Time{}
	})
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	in, err := decodeEvent(encode(t, e), now)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(in.controller).To(Equal(map[string]string{"revision": "main@sha1:abc"}))
	g.Expect(in.annotations).To(Equal(map[string]string{"team": "platform"}))
	g.Expect(in.event.Metadata).To(BeNil())
	g.Expect(in.event.Timestamp.Time).To(Equal(now))
}

func TestDedupKey(t *testing.T) {
	key := func(mutate ...func(*eventv1.Event)) uint64 {
		in, err := decodeEvent(encode(t, newEvent(mutate...)), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return in.dedupKey()
	}
	base := key()
	if key(func(e *eventv1.Event) { e.Timestamp.Time = time.Now(); e.ReportingInstance = "other" }) != base {
		t.Error("timestamp and instance must not change the key")
	}
	for name, m := range map[string]func(*eventv1.Event){
		"revision": func(e *eventv1.Event) { e.Metadata["source.toolkit.fluxcd.io/revision"] = "main@sha1:other" },
		"token":    func(e *eventv1.Event) { e.Metadata["source.toolkit.fluxcd.io/token"] = "2" },
		"reason":   func(e *eventv1.Event) { e.Reason = "Other" },
		"message":  func(e *eventv1.Event) { e.Message = "other" },
		"object":   func(e *eventv1.Event) { e.InvolvedObject.Name = "other" },
		"boundary": func(e *eventv1.Event) { e.InvolvedObject.Namespace = "app"; e.InvolvedObject.Name = "swebapp" },
	} {
		if key(m) == base {
			t.Errorf("%s must change the key", name)
		}
	}
}
