package fetch

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// digest is a parsed "<algorithm>:<hex>" artifact digest.
type digest struct {
	raw  string
	algo string
	hex  string
	new  func() hash.Hash
}

// algorithms are the digests a source may publish; Flux allows these besides the
// default sha256.
var algorithms = map[string]func() hash.Hash{
	"sha256": sha256.New,
	"sha384": sha512.New384,
	"sha512": sha512.New,
}

// parseDigest validates s. Beyond catching typos, the strict check matters because
// the hex part names a directory in the cache and must never be a path.
func parseDigest(s string) (digest, error) {
	algo, hx, ok := strings.Cut(s, ":")
	newHash, known := algorithms[algo]
	if !ok || !known {
		return digest{}, fmt.Errorf("invalid artifact digest %q: expected sha256:<hex>", s)
	}
	hx = strings.ToLower(hx)
	b, err := hex.DecodeString(hx)
	if err != nil || len(b) != newHash().Size() {
		return digest{}, fmt.Errorf("invalid artifact digest %q: malformed %s value", s, algo)
	}
	return digest{raw: s, algo: algo, hex: hx, new: newHash}, nil
}

// format renders a computed hash in the same algorithm as d.
func (d digest) format(h hash.Hash) string {
	return d.algo + ":" + hex.EncodeToString(h.Sum(nil))
}
