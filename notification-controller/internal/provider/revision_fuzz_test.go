package provider

import (
	"encoding/hex"
	"strings"
	"testing"
)

// FuzzParseRevision feeds arbitrary strings to the revision parser that
// commit-status providers use, and revisions built from an arbitrary
// reference and commit in each format a source writes. Whatever it
// accepts is a 40- or 64-digit lowercase hex commit; a revision written
// by a source gives back exactly its commit. The seed corpus is in
// testdata/fuzz.
func FuzzParseRevision(f *testing.F) {
	f.Add("main@sha1:"+strings.Repeat("a", 40), "main", []byte("0123456789abcdefghij"))
	f.Add("refs/pull/1/head@sha1:"+strings.Repeat("F", 40), "v1.2.3", []byte{})
	f.Add("main/"+strings.Repeat("1", 40), "a@b:c", []byte("0123456789abcdefghij0123456789abcdefghij"))

	f.Fuzz(func(t *testing.T, rev, ref string, commit []byte) {
		if sha, err := parseRevision(rev); err == nil {
			if (len(sha) != 40 && len(sha) != 64) || strings.Trim(sha, "0123456789abcdef") != "" {
				t.Fatalf("parseRevision(%q) = %q, not a commit", rev, sha)
			}
			if !strings.Contains(strings.ToLower(rev), sha) {
				t.Fatalf("parseRevision(%q) = %q, not part of the revision", rev, sha)
			}
		}

		// The forms a source writes: sha1 for Git, sha256 for SHA-256 repositories.
		for _, size := range []int{20, 32} {
			b := make([]byte, size)
			copy(b, commit)
			sha := hex.EncodeToString(b)
			algo := map[int]string{20: "sha1", 32: "sha256"}[size]
			for _, written := range []string{ref + "@" + algo + ":" + sha, algo + ":" + sha} {
				got, err := parseRevision(written)
				if err != nil || got != sha {
					t.Fatalf("parseRevision(%q) = %q, %v; want %q", written, got, err, sha)
				}
			}
		}
	})
}
