// Package scan finds secret values in text a controller exposes: events,
// condition messages, logs, metrics, notification payloads. A value leaks
// in more shapes than itself: a Secret's data is base64 on the wire, and a
// value inside a larger base64 blob (a whole Secret manifest, an encoded
// header) shows up at any of three byte alignments; a value in a URL is
// percent-escaped. The scanner looks for every one of those shapes.
package scan

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// MinLength is the shortest value the scanner takes: shorter needles (and
// the shorter still base64 runs cut from them) match ordinary text by
// chance.
const MinLength = 8

// Secret is a value that must appear nowhere.
type Secret struct {
	// Name says what the value is, for reports; it is never the value.
	Name  string
	Value string
}

// Finding is one place a secret showed up.
type Finding struct {
	// Secret is the Secret's Name.
	Secret string
	// Form is the shape it was found in: "plain", "base64", ...
	Form string
	// Source names the text it was found in.
	Source string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s (%s) in %s", f.Secret, f.Form, f.Source)
}

type needle struct {
	secret, form, text string
}

// Scanner holds the needles of a set of secrets.
type Scanner struct {
	needles []needle
}

// New returns a Scanner for secrets; it refuses values shorter than
// MinLength, which would make the scan meaningless.
func New(secrets ...Secret) (*Scanner, error) {
	s := &Scanner{}
	for _, sec := range secrets {
		if len(sec.Value) < MinLength {
			return nil, fmt.Errorf("secret %q is shorter than %d bytes", sec.Name, MinLength)
		}
		for form, text := range Forms(sec.Value) {
			s.needles = append(s.needles, needle{secret: sec.Name, form: form, text: text})
		}
	}
	sort.Slice(s.needles, func(i, j int) bool {
		if s.needles[i].secret != s.needles[j].secret {
			return s.needles[i].secret < s.needles[j].secret
		}
		return s.needles[i].form < s.needles[j].form
	})
	return s, nil
}

// Scan returns every secret found in text, once per secret and form.
func (s *Scanner) Scan(source string, text []byte) []Finding {
	var out []Finding
	for _, n := range s.needles {
		if strings.Contains(string(text), n.text) {
			out = append(out, Finding{Secret: n.secret, Form: n.form, Source: source})
		}
	}
	return out
}

// Forms returns the shapes v can leak in, by name: the value itself, each
// base64 alphabet's encoding of it alone, the run of base64 characters it
// yields at each alignment inside a longer encoded text, and its URL
// escapings when they differ from it.
func Forms(v string) map[string]string {
	forms := map[string]string{"plain": v}
	encodings := map[string]*base64.Encoding{"base64": base64.StdEncoding, "base64url": base64.URLEncoding}
	for name, enc := range encodings {
		forms[name] = enc.EncodeToString([]byte(v))
		for shift := 0; shift < 3; shift++ {
			forms[fmt.Sprintf("%s-embedded-%d", name, shift)] = embedded(enc, v, shift)
		}
	}
	if q := url.QueryEscape(v); q != v {
		forms["query-escaped"] = q
	}
	if p := url.PathEscape(v); p != v {
		forms["path-escaped"] = p
	}
	return forms
}

// embedded is the part of the base64 encoding of v, preceded by shift
// other bytes and followed by anything, that depends on v alone: the
// quartets of whole 3-byte groups made only of v's bytes.
func embedded(enc *base64.Encoding, v string, shift int) string {
	padded := strings.Repeat("\x00", shift) + v
	full := enc.EncodeToString([]byte(padded))
	// The first group holds the shift bytes unless shift is 0.
	start := 0
	if shift > 0 {
		start = 4
	}
	end := len(padded) / 3 * 4
	if end <= start {
		return full
	}
	return full[start:end]
}
