package substitute

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{
		"name":   "web",
		"empty":  "",
		"mixed":  "abcdEFGH",
		"path":   "/home/bozo/ideas/thoughts.for.today",
		"file":   "bash.string.txt",
		"repeat": "abcABC123ABCabc",
		"slashy": "foo/bar/baz",
		"greek":  "αβγδ",
		"other":  "fallback",
	}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	tests := []struct {
		in, want string
	}{
		{"plain text, no dollar", "plain text, no dollar"},
		{"${name}", "web"},
		{"pre-${name}-post", "pre-web-post"},
		{"${name}${name}", "webweb"},
		{"${missing}", ""},
		{"$name and $HOME stay", "$name and $HOME stay"},
		{"cost: 5$", "cost: 5$"},
		{"$$ stays", "$$ stays"},
		{"$${name} is escaped", "${name} is escaped"},
		{"$${name=${other}}", "${name=fallback}"},
		{"a ${name}$${x$${name}$name${name}", "a web${x${name}$nameweb"},
		{`\\ outside ${name}`, `\\ outside web`},
		// defaults
		{"${missing:=dev}", "dev"},
		{"${missing:-dev}", "dev"},
		{"${missing=dev}", "dev"},
		{"${missing-dev}", "dev"},
		{"${empty:=dev}", "dev"},
		{"${empty:-dev}", "dev"},
		{"${empty=dev}", ""},
		{"${empty-dev}", ""},
		{"${name:=dev}", "web"},
		{"${missing:=}", ""},
		{"${missing:=${other}}", "fallback"},
		{"${missing:=pre-${other}-post}", "pre-fallback-post"},
		{"${missing:=${also_missing:=deep}}", "deep"},
		{"${missing:=${mixed^^}}", "ABCDEFGH"},
		// string operators
		{"${#mixed}", "8"},
		{"${#greek}", "4"},
		{"${mixed^}", "AbcdEFGH"},
		{"${mixed^^}", "ABCDEFGH"},
		{"${mixed,}", "abcdEFGH"},
		{"${mixed,,}", "abcdefgh"},
		{"${path:11}", "ideas/thoughts.for.today"},
		{"${path:11:5}", "ideas"},
		{"${path: -5}", "today"},
		{"${greek:1:2}", "βγ"},
		{"${path:100}", ""},
		{"${file#*.}", "string.txt"},
		{"${file##*.}", "txt"},
		{"${file%.*}", "bash.string"},
		{"${file%%.*}", "bash"},
		{"${slashy#*/}", "bar/baz"},
		{"${slashy##*/}", "baz"},
		{"${file#nomatch}", "bash.string.txt"},
		{"${repeat/abc/xyz}", "xyzABC123ABCabc"},
		{"${repeat//abc/xyz}", "xyzABC123ABCxyz"},
		{"${repeat/#abc/XYZ}", "XYZABC123ABCabc"},
		{"${repeat/%abc/XYZ}", "abcABC123ABCXYZ"},
		{"${name/#/pre-}", "pre-web"},
		{"${name/%/-post}", "web-post"},
		{`${slashy//\//-}`, "foo-bar-baz"},
		{`${slashy/\//-}`, "foo-bar/baz"},
		{"${file/./}", "bashstring.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			g := NewWithT(t)
			got, err := expand(tt.in, lookup, false)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tt.want))
		})
	}
}

func TestExpandStrict(t *testing.T) {
	vars := map[string]string{"set": "value", "empty": ""}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "${set}", want: "value"},
		{in: "${empty}", want: ""},
		{in: "$missing stays", want: "$missing stays"},
		{in: "${missing:=default}", want: "default"},
		{in: "${missing:-default}", want: "default"},
		{in: "${missing=default}", want: "default"},
		{in: "${missing-default}", want: "default"},
		{in: "${missing}", wantErr: `variable is not set: "missing" has no value and no default`},
		{in: "${missing:=${inner}}", wantErr: `"inner" has no value`},
		{in: "${#missing}", wantErr: `"missing" has no value`},
		{in: "${missing^^}", wantErr: `"missing" has no value`},
		{in: "${missing:0:2}", wantErr: `"missing" has no value`},
		{in: "${missing/a/b}", wantErr: `"missing" has no value`},
		{in: "${missing%%.*}", wantErr: `"missing" has no value`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			g := NewWithT(t)
			got, err := expand(tt.in, lookup, true)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				g.Expect(err).To(MatchError(ErrVarNotSet))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tt.want))
		})
	}
}

func TestExpandRejectsMalformedExpressions(t *testing.T) {
	lookup := func(string) (string, bool) { return "v", true }
	for in, wantErr := range map[string]string{
		"${name":        "unterminated expression",
		"${}":           "bad substitution ${}",
		"${ name }":     "bad substitution ${ name }",
		"${name!}":      "bad substitution ${name!}",
		"${name:x}":     "position is not a number",
		"${name:1:y}":   "length is not a number",
		"a ${b:=${c} d": "unterminated expression",
	} {
		t.Run(in, func(t *testing.T) {
			g := NewWithT(t)
			_, err := expand(in, lookup, false)
			g.Expect(err).To(MatchError(ContainSubstring(wantErr)))
		})
	}
}

func TestGlobMatch(t *testing.T) {
	for _, tt := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "a/b", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbb", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*.txt", "x.y.txt", true},
		{"", "", true},
		{"", "a", false},
	} {
		NewWithT(t).Expect(globMatch(tt.pattern, tt.s)).To(Equal(tt.want), tt.pattern+" ~ "+tt.s)
	}
}
