package events

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Limits on one event. They keep every queued notification small (about
// 100 KiB at most), which is what bounds the dispatcher's memory, and they
// follow Flux's API: a message holds at most 39,000 characters.
const (
	maxMessageRunes   = 39000
	maxReasonLen      = 256
	maxNameLen        = 253
	maxMetadataKeys   = 256
	maxMetadataBytes  = 64 << 10
	annotationsPrefix = eventv1.Group + "/"
)

// incoming is a validated event with its metadata split by origin, so each
// Alert can merge its own metadata in Flux's precedence order.
type incoming struct {
	// event is the event as received, with Metadata cleared.
	event eventv1.Event
	// controller holds the keys the reporting controller set under the
	// object's API group (e.g. "revision"), with the group prefix removed.
	controller map[string]string
	// annotations holds the object's event.toolkit.fluxcd.io/* annotations
	// the recorder copied into the event, with the prefix removed.
	annotations map[string]string
}

// decodeEvent parses and validates an event body. Its errors are written
// back to the sender, so they say which field is wrong and never echo
// values.
func decodeEvent(body []byte, now time.Time) (*incoming, error) {
	var e eventv1.Event
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, errors.New("body is not a JSON event")
	}
	if err := validate(&e); err != nil {
		return nil, err
	}
	if e.Timestamp.IsZero() {
		e.Timestamp = metav1.NewTime(now)
	}
	in := &incoming{controller: map[string]string{}, annotations: map[string]string{}}
	group := ""
	if gv, err := schema.ParseGroupVersion(e.InvolvedObject.APIVersion); err == nil {
		group = gv.Group
	}
	for k, v := range e.Metadata {
		switch {
		case group != "" && strings.HasPrefix(k, group+"/"):
			key := strings.TrimPrefix(k, group+"/")
			// Artifact digests say nothing to a person and change on every
			// build; Flux drops them too.
			if key == eventv1.MetaChecksumKey || key == eventv1.MetaDigestKey {
				continue
			}
			in.controller[key] = v
		case strings.HasPrefix(k, annotationsPrefix):
			in.annotations[strings.TrimPrefix(k, annotationsPrefix)] = v
		}
	}
	e.Metadata = nil
	in.event = e
	return in, nil
}

// validate checks the fields the matching and the providers rely on.
func validate(e *eventv1.Event) error {
	o := e.InvolvedObject
	switch {
	case o.Kind == "" || len(o.Kind) > 63:
		return errors.New("involvedObject.kind must be set and at most 63 characters")
	case o.Name == "" || len(o.Name) > maxNameLen:
		return fmt.Errorf("involvedObject.name must be set and at most %d characters", maxNameLen)
	case o.Namespace == "" || len(o.Namespace) > 63:
		return errors.New("involvedObject.namespace must be set and at most 63 characters")
	case e.Severity != eventv1.EventSeverityInfo && e.Severity != eventv1.EventSeverityError:
		return errors.New("severity must be info or error")
	case e.Reason == "" || len(e.Reason) > maxReasonLen:
		return fmt.Errorf("reason must be set and at most %d characters", maxReasonLen)
	case e.Message == "":
		return errors.New("message must be set")
	case utf8.RuneCountInString(e.Message) > maxMessageRunes:
		return fmt.Errorf("message is longer than %d characters", maxMessageRunes)
	case len(e.ReportingController) > maxNameLen:
		return fmt.Errorf("reportingController is longer than %d characters", maxNameLen)
	case len(e.Metadata) > maxMetadataKeys:
		return fmt.Errorf("metadata has more than %d keys", maxMetadataKeys)
	}
	size := 0
	for k, v := range e.Metadata {
		size += len(k) + len(v)
	}
	if size > maxMetadataBytes {
		return fmt.Errorf("metadata is larger than %d bytes", maxMetadataBytes)
	}
	return nil
}

// dedupKey identifies an event for de-duplication: the object, the reason,
// the message and the revision and token it is about. Two events that agree
// on all of them tell a user nothing new. Every field is length-prefixed, so
// no two different events hash the same input.
func (in *incoming) dedupKey() uint64 {
	h := sha256.New()
	var n [8]byte
	for _, s := range []string{
		in.event.InvolvedObject.Kind, in.event.InvolvedObject.Namespace, in.event.InvolvedObject.Name,
		in.event.Reason, in.event.Message,
		in.controller[eventv1.MetaRevisionKey], in.controller[eventv1.MetaOriginRevisionKey],
		in.controller[eventv1.MetaTokenKey],
	} {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	// 64 bits of SHA-256 keep the table small; a collision among the keys
	// of one window is about as likely as 2^-40.
	var sum [32]byte
	return binary.BigEndian.Uint64(h.Sum(sum[:0]))
}
