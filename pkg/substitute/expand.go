package substitute

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrVarNotSet is returned, wrapped, in strict mode for a variable that is
// used without a default and has no value.
var ErrVarNotSet = errors.New("variable is not set")

// lookupFunc returns a variable's value and whether it is set.
type lookupFunc func(name string) (string, bool)

// expand replaces every ${...} expression in s, with Flux's envsubst rules:
//
//   - only the braced form is expanded; $var is left as it is, so shell
//     scripts in ConfigMaps survive;
//   - $${ is an escape for a literal ${;
//   - ${var=default} and ${var-default} use default when var is unset,
//     ${var:=default} and ${var:-default} also when it is empty; defaults
//     may hold further expressions;
//   - the bash string operators Flux documents: ${#var}, ${var^}, ${var^^},
//     ${var,}, ${var,,}, ${var:pos}, ${var:pos:len}, ${var#glob},
//     ${var##glob}, ${var%glob}, ${var%%glob}, ${var/old/new},
//     ${var//old/new}, ${var/#old/new}, ${var/%old/new};
//   - an unset variable expands to "", or, when strict, is an error unless a
//     default is given.
//
// Why not github.com/drone/envsubst, which Flux forked: it expands $var
// too, which Flux's fork and its documentation do not.
func expand(s string, lookup lookupFunc, strict bool) (string, error) {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		s = s[i:]
		switch {
		case strings.HasPrefix(s, "$${"):
			b.WriteString("${")
			s = s[3:]
		case strings.HasPrefix(s, "${"):
			end := closingBrace(s, 2)
			if end < 0 {
				return "", fmt.Errorf("unterminated expression %q", excerpt(s))
			}
			v, err := evalExpr(s[2:end], lookup, strict)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			s = s[end+1:]
		default:
			b.WriteByte('$')
			s = s[1:]
		}
	}
}

// closingBrace returns the index of the "}" that closes the expression
// whose body starts at from, skipping nested ${...} and backslash escapes.
func closingBrace(s string, from int) int {
	depth := 0
	for i := from; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			i++
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			depth++
			i++
		case s[i] == '}':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return -1
}

func excerpt(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// evalExpr evaluates the body of one ${...} expression.
func evalExpr(body string, lookup lookupFunc, strict bool) (string, error) {
	if rest, ok := strings.CutPrefix(body, "#"); ok && isName(rest) {
		v, err := value(rest, lookup, strict)
		return strconv.Itoa(utf8.RuneCountInString(v)), err
	}
	n := nameLen(body)
	if n == 0 {
		return "", fmt.Errorf("bad substitution ${%s}", body)
	}
	name, op := body[:n], body[n:]

	// Operators that supply a default are the only ones allowed to refer
	// to an unset variable in strict mode.
	for _, d := range []struct {
		op        string
		whenEmpty bool
	}{{":=", true}, {":-", true}, {"=", false}, {"-", false}} {
		if def, ok := strings.CutPrefix(op, d.op); ok {
			v, set := lookup(name)
			if set && (!d.whenEmpty || v != "") {
				return v, nil
			}
			return expand(def, lookup, strict)
		}
	}

	v, err := value(name, lookup, strict)
	if err != nil {
		return "", err
	}
	switch {
	case op == "":
		return v, nil
	case op == "^":
		return mapFirst(v, unicode.ToUpper), nil
	case op == "^^":
		return strings.ToUpper(v), nil
	case op == ",":
		return mapFirst(v, unicode.ToLower), nil
	case op == ",,":
		return strings.ToLower(v), nil
	case strings.HasPrefix(op, "##"):
		return trimPrefix(v, unescape(op[2:]), true), nil
	case strings.HasPrefix(op, "#"):
		return trimPrefix(v, unescape(op[1:]), false), nil
	case strings.HasPrefix(op, "%%"):
		return trimSuffix(v, unescape(op[2:]), true), nil
	case strings.HasPrefix(op, "%"):
		return trimSuffix(v, unescape(op[1:]), false), nil
	case strings.HasPrefix(op, "/"):
		return replace(v, op[1:]), nil
	case strings.HasPrefix(op, ":"):
		return substring(v, op[1:], body)
	}
	return "", fmt.Errorf("bad substitution ${%s}", body)
}

// value looks a variable up; unset is "" or, when strict, an error.
func value(name string, lookup lookupFunc, strict bool) (string, error) {
	v, ok := lookup(name)
	if !ok && strict {
		return "", fmt.Errorf("%w: %q has no value and no default", ErrVarNotSet, name)
	}
	return v, nil
}

// nameLen returns the length of the variable name at the start of s. Names
// are letters, digits and underscores, as in envsubst; whether a defined
// variable's name is valid is checked where variables are defined.
func nameLen(s string) int {
	for i, r := range s {
		if r != '_' && !isAlnum(r) {
			return i
		}
	}
	return len(s)
}

func isName(s string) bool { return s != "" && nameLen(s) == len(s) }

func isAlnum(r rune) bool {
	return r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

func mapFirst(s string, f func(rune) rune) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 {
		return s
	}
	return string(f(r)) + s[size:]
}

// substring implements ${var:pos} and ${var:pos:len}, counting in runes; a
// negative position counts from the end, as in bash.
func substring(v, args, body string) (string, error) {
	runes := []rune(v)
	posArg, lenArg, hasLen := strings.Cut(args, ":")
	pos, err := strconv.Atoi(strings.TrimSpace(posArg))
	if err != nil {
		return "", fmt.Errorf("bad substitution ${%s}: position is not a number", body)
	}
	if pos < 0 {
		pos += len(runes)
	}
	pos = min(max(pos, 0), len(runes))
	end := len(runes)
	if hasLen {
		n, err := strconv.Atoi(strings.TrimSpace(lenArg))
		if err != nil {
			return "", fmt.Errorf("bad substitution ${%s}: length is not a number", body)
		}
		if n < 0 {
			end += n
		} else {
			end = pos + n
		}
		end = min(max(end, pos), len(runes))
	}
	return string(runes[pos:end]), nil
}

// replace implements ${var/old/new} and its //, /# and /% forms; old and
// new are literal text in which "\" escapes the next character (so "\/"
// is a slash).
func replace(v, args string) string {
	mode := byte(0)
	if args != "" && (args[0] == '/' || args[0] == '#' || args[0] == '%') {
		mode, args = args[0], args[1:]
	}
	old, repl := splitUnescaped(args, '/')
	old, repl = unescape(old), unescape(repl)
	switch mode {
	case '/':
		if old == "" {
			return v
		}
		return strings.ReplaceAll(v, old, repl)
	case '#':
		if rest, ok := strings.CutPrefix(v, old); ok {
			return repl + rest
		}
		return v
	case '%':
		if rest, ok := strings.CutSuffix(v, old); ok {
			return rest + repl
		}
		return v
	default:
		if old == "" {
			return v
		}
		return strings.Replace(v, old, repl, 1)
	}
}

// splitUnescaped splits s at the first sep not preceded by a backslash.
func splitUnescaped(s string, sep byte) (string, string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == sep {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// trimPrefix removes the shortest (or longest) prefix of v matching the
// glob pattern.
func trimPrefix(v, pattern string, longest bool) string {
	best := -1
	for _, i := range boundaries(v) {
		if globMatch(pattern, v[:i]) {
			best = i
			if !longest {
				break
			}
		}
	}
	if best < 0 {
		return v
	}
	return v[best:]
}

// trimSuffix removes the shortest (or longest) suffix of v matching the
// glob pattern.
func trimSuffix(v, pattern string, longest bool) string {
	best := -1
	b := boundaries(v)
	for j := len(b) - 1; j >= 0; j-- {
		if globMatch(pattern, v[b[j]:]) {
			best = b[j]
			if !longest {
				break
			}
		}
	}
	if best < 0 {
		return v
	}
	return v[:best]
}

// boundaries returns the byte offsets between the runes of s, from 0 to
// len(s).
func boundaries(s string) []int {
	out := make([]int, 0, len(s)+1)
	for i := range s {
		out = append(out, i)
	}
	return append(out, len(s))
}

// globMatch matches s against a shell pattern where "*" is any text
// (including "/", as in bash parameter expansion) and "?" any one
// character.
func globMatch(pattern, s string) bool {
	p, si := []rune(pattern), []rune(s)
	pi, ti := 0, 0
	star, mark := -1, 0
	for ti < len(si) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == si[ti]):
			pi++
			ti++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ti
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			ti = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
