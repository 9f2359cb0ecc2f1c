package fetch

import (
	"encoding/hex"
	"strings"
	"testing"
)

// FuzzParseDigest feeds arbitrary strings to the digest parser, and the
// digest of arbitrary data in every algorithm. A digest that parses names
// a cache directory, so its hex part must be exactly the algorithm's size
// in lowercase hex (never a path), and it must print back to a string that
// parses to the same digest; the digest the fetcher computes for any data
// must parse and verify. The seed corpus is in testdata/fuzz.
func FuzzParseDigest(f *testing.F) {
	f.Add("sha256:"+strings.Repeat("ab", 32), []byte("artifact"))
	f.Add("sha512:"+strings.Repeat("0", 128), []byte{})
	f.Add("sha256:../../etc", []byte("x"))

	f.Fuzz(func(t *testing.T, s string, data []byte) {
		d, err := parseDigest(s)
		if err == nil {
			b, herr := hex.DecodeString(d.hex)
			if herr != nil || len(b) != d.new().Size() || d.hex != strings.ToLower(d.hex) {
				t.Fatalf("parseDigest(%q) accepted hex %q", s, d.hex)
			}
			if strings.ContainsAny(d.hex, `/\.`) {
				t.Fatalf("parseDigest(%q) gave a hex part that is a path: %q", s, d.hex)
			}
			again, err := parseDigest(d.algo + ":" + d.hex)
			if err != nil || again.algo != d.algo || again.hex != d.hex {
				t.Fatalf("digest %q does not round-trip: %v", s, err)
			}
		}

		for algo, newHash := range algorithms {
			h := newHash()
			h.Write(data)
			computed := algo + ":" + hex.EncodeToString(h.Sum(nil))
			d, err := parseDigest(computed)
			if err != nil {
				t.Fatalf("computed digest %q refused: %v", computed, err)
			}
			check := d.new()
			check.Write(data)
			if got := d.format(check); got != computed {
				t.Fatalf("digest %q formats as %q", computed, got)
			}
		}
	})
}
