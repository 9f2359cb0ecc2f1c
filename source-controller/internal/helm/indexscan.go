package helm

import (
	"bytes"
	"errors"
)

// errUnsupported makes ParseIndex fall back to the YAML decoder. The scanner
// returns it for anything outside the layout it knows, so it never guesses.
var errUnsupported = errors.New("index layout not handled by the line scanner")

// scanIndex reads an index written in the block layout that `helm repo
// index` and chart repository servers produce: one key per line, two-space
// indentation, sequences of versions under each chart name. It reads the
// fields of ChartVersion and skips every other value by indentation alone,
// which is what makes it fast. Anything it does not understand (flow
// collections, anchors, tags, escapes or multi-line values in the fields it
// reads, tabs in indentation) yields errUnsupported and the caller decodes
// the document with a YAML library instead.
func scanIndex(data []byte) (*Index, error) {
	s := &scanner{data: data}
	if err := s.next(); err != nil {
		return nil, err
	}
	if s.ok && s.cur.indent == 0 && string(s.cur.text) == "---" {
		if err := s.next(); err != nil {
			return nil, err
		}
	}
	idx := &Index{}
	var seenAPI, seenEntries bool
	for s.ok {
		if s.cur.indent != 0 {
			return nil, errUnsupported
		}
		key, rest, err := splitKey(s.cur.text)
		if err != nil {
			return nil, err
		}
		switch string(key) {
		case "apiVersion":
			if seenAPI {
				return nil, errUnsupported
			}
			seenAPI = true
			if idx.APIVersion, err = s.scalarValue(rest, 0); err != nil {
				return nil, err
			}
		case "entries":
			if seenEntries {
				return nil, errUnsupported
			}
			seenEntries = true
			if idx.Entries, err = s.entries(rest); err != nil {
				return nil, err
			}
		default:
			if err := s.skipValue(0); err != nil {
				return nil, err
			}
		}
	}
	return idx, nil
}

// line is one significant line: its indentation and its text without
// indentation, trailing blanks or line break.
type line struct {
	indent int
	text   []byte
}

type scanner struct {
	data []byte
	pos  int
	cur  line
	ok   bool
}

// next moves to the next line that is neither blank nor a comment.
func (s *scanner) next() error {
	for s.pos < len(s.data) {
		var raw []byte
		if end := bytes.IndexByte(s.data[s.pos:], '\n'); end < 0 {
			raw, s.pos = s.data[s.pos:], len(s.data)
		} else {
			raw, s.pos = s.data[s.pos:s.pos+end], s.pos+end+1
		}
		raw = bytes.TrimRight(raw, " \t\r")
		i := 0
		for i < len(raw) && raw[i] == ' ' {
			i++
		}
		if i == len(raw) {
			continue
		}
		if raw[i] == '\t' {
			return errUnsupported
		}
		if raw[i] == '#' {
			continue
		}
		s.cur, s.ok = line{indent: i, text: raw[i:]}, true
		return nil
	}
	s.ok = false
	return nil
}

// skipValue skips the current key line at indent n and every line of its
// value: lines indented deeper, and sequence items at the same indent.
func (s *scanner) skipValue(n int) error {
	if err := s.next(); err != nil {
		return err
	}
	for s.ok && (s.cur.indent > n || s.cur.indent == n && isSeqItem(s.cur.text)) {
		if err := s.next(); err != nil {
			return err
		}
	}
	return nil
}

// scalarValue reads the single-line scalar rest of a key at indent n and
// moves past it; a value continuing on deeper lines is not handled.
func (s *scanner) scalarValue(rest []byte, n int) (string, error) {
	v, err := scalar(rest)
	if err != nil {
		return "", err
	}
	if err := s.next(); err != nil {
		return "", err
	}
	if s.ok && (s.cur.indent > n || s.cur.indent == n && isSeqItem(s.cur.text)) {
		return "", errUnsupported
	}
	return v, nil
}

// entries reads the mapping of chart names to versions under `entries:`.
func (s *scanner) entries(rest []byte) (map[string][]*ChartVersion, error) {
	out := map[string][]*ChartVersion{}
	if string(rest) == "{}" {
		_, err := s.scalarValue(nil, 0)
		return out, err
	}
	if len(rest) != 0 {
		return nil, errUnsupported
	}
	if err := s.next(); err != nil {
		return nil, err
	}
	if !s.ok || s.cur.indent == 0 {
		return nil, nil
	}
	e := s.cur.indent
	for s.ok && s.cur.indent > 0 {
		if s.cur.indent != e {
			return nil, errUnsupported
		}
		key, rest, err := splitKey(s.cur.text)
		if err != nil {
			return nil, err
		}
		name := string(key)
		if _, dup := out[name]; dup {
			return nil, errUnsupported
		}
		switch string(rest) {
		case "[]":
			_, err = s.scalarValue(nil, e)
			out[name] = nil
		case "":
			if err = s.next(); err == nil {
				out[name], err = s.versions(e)
			}
		default:
			err = errUnsupported
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// versions reads the sequence of versions under a chart name at indent e.
func (s *scanner) versions(e int) ([]*ChartVersion, error) {
	if !s.ok || s.cur.indent < e || !isSeqItem(s.cur.text) {
		if s.ok && s.cur.indent > e {
			return nil, errUnsupported
		}
		return nil, nil
	}
	si := s.cur.indent
	var out []*ChartVersion
	for s.ok && s.cur.indent == si && isSeqItem(s.cur.text) {
		v, err := s.version(si)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if s.ok && s.cur.indent > e {
		return nil, errUnsupported
	}
	return out, nil
}

// version reads one "- key: value" mapping item at indent si.
func (s *scanner) version(si int) (*ChartVersion, error) {
	t := s.cur.text[1:]
	sp := 0
	for sp < len(t) && t[sp] == ' ' {
		sp++
	}
	if sp == len(t) {
		return nil, errUnsupported
	}
	k := si + 1 + sp
	s.cur = line{indent: k, text: t[sp:]}
	v := &ChartVersion{}
	var seen uint8
	for {
		if err := s.field(v, k, &seen); err != nil {
			return nil, err
		}
		if !s.ok || s.cur.indent != k {
			break
		}
		if isSeqItem(s.cur.text) {
			return nil, errUnsupported
		}
	}
	if s.ok && s.cur.indent > si && s.cur.indent < k {
		return nil, errUnsupported
	}
	return v, nil
}

// field reads one key of a version at indent k and moves past its value.
func (s *scanner) field(v *ChartVersion, k int, seen *uint8) error {
	key, rest, err := splitKey(s.cur.text)
	if err != nil {
		return err
	}
	var target *string
	var bit uint8
	switch string(key) {
	case "name":
		target, bit = &v.Name, 1
	case "version":
		target, bit = &v.Version, 2
	case "digest":
		target, bit = &v.Digest, 4
	case "created":
		target, bit = &v.Created, 8
	case "urls":
		bit = 16
	default:
		return s.skipValue(k)
	}
	if *seen&bit != 0 {
		return errUnsupported
	}
	*seen |= bit
	if target != nil {
		*target, err = s.scalarValue(rest, k)
		return err
	}
	return s.urls(v, rest, k)
}

// urls reads a block sequence of single-line scalars under `urls:`.
func (s *scanner) urls(v *ChartVersion, rest []byte, k int) error {
	if string(rest) == "[]" {
		v.URLs = []string{}
		_, err := s.scalarValue(nil, k)
		return err
	}
	if len(rest) != 0 {
		return errUnsupported
	}
	if err := s.next(); err != nil {
		return err
	}
	if !s.ok || s.cur.indent < k || !isSeqItem(s.cur.text) {
		if s.ok && s.cur.indent > k {
			return errUnsupported
		}
		return nil
	}
	ui := s.cur.indent
	v.URLs = []string{}
	for s.ok && s.cur.indent == ui && isSeqItem(s.cur.text) {
		item := bytes.TrimLeft(s.cur.text[1:], " ")
		if len(item) == 0 {
			return errUnsupported
		}
		u, err := scalar(item)
		if err != nil {
			return err
		}
		if err := s.next(); err != nil {
			return err
		}
		if s.ok && s.cur.indent > ui {
			return errUnsupported
		}
		v.URLs = append(v.URLs, u)
	}
	if s.ok && s.cur.indent > k {
		return errUnsupported
	}
	return nil
}

func isSeqItem(t []byte) bool {
	return t[0] == '-' && (len(t) == 1 || t[1] == ' ')
}

// splitKey splits "key: rest" with a plain key; rest has no comment.
func splitKey(t []byte) (key, rest []byte, err error) {
	switch t[0] {
	case '"', '\'', '?', '-', '[', '{', '&', '*', '!', '|', '>', '%', '@', '`', '<', ':':
		return nil, nil, errUnsupported
	}
	i := 0
	for {
		j := bytes.IndexByte(t[i:], ':')
		if j < 0 {
			return nil, nil, errUnsupported
		}
		i += j
		if i+1 == len(t) || t[i+1] == ' ' {
			break
		}
		i++
	}
	key = t[:i]
	if key[len(key)-1] == ' ' || bytes.Contains(key, []byte(" #")) {
		return nil, nil, errUnsupported
	}
	rest = bytes.TrimLeft(t[i+1:], " ")
	if len(rest) > 0 && rest[0] == '#' {
		rest = nil
	}
	return key, rest, nil
}

// scalar decodes a single-line scalar the way a YAML decoder fills a string:
// quotes removed, a trailing comment dropped, null as "".
func scalar(t []byte) (string, error) {
	if len(t) == 0 {
		return "", nil
	}
	switch t[0] {
	case '"':
		end := bytes.IndexByte(t[1:], '"')
		if end < 0 {
			return "", errUnsupported
		}
		body := t[1 : 1+end]
		if bytes.IndexByte(body, '\\') >= 0 || !onlyComment(t[2+end:]) {
			return "", errUnsupported
		}
		return string(body), nil
	case '\'':
		var out []byte
		for i := 1; i < len(t); i++ {
			if t[i] != '\'' {
				out = append(out, t[i])
				continue
			}
			if i+1 < len(t) && t[i+1] == '\'' {
				out = append(out, '\'')
				i++
				continue
			}
			if !onlyComment(t[i+1:]) {
				return "", errUnsupported
			}
			return string(out), nil
		}
		return "", errUnsupported
	case '[', '{', '&', '*', '!', '|', '>', '%', '@', '`', '?', ',', '#':
		return "", errUnsupported
	case '-':
		if len(t) == 1 || t[1] == ' ' {
			return "", errUnsupported
		}
	}
	if i := bytes.Index(t, []byte(" #")); i >= 0 {
		t = bytes.TrimRight(t[:i], " ")
	}
	if bytes.Contains(t, []byte(": ")) || t[len(t)-1] == ':' || bytes.IndexByte(t, '\t') >= 0 {
		return "", errUnsupported
	}
	switch string(t) {
	case "~", "null", "Null", "NULL":
		return "", nil
	}
	return string(t), nil
}

// onlyComment reports whether what follows a quoted scalar is nothing or a
// comment.
func onlyComment(t []byte) bool {
	if len(t) == 0 {
		return true
	}
	if t[0] != ' ' {
		return false
	}
	t = bytes.TrimLeft(t, " ")
	return len(t) == 0 || t[0] == '#'
}
