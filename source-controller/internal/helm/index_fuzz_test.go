package helm

import (
	"bytes"
	"errors"
	"io"
	"log"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"helm.sh/helm/v3/pkg/repo"
)

// FuzzParseIndex parses arbitrary documents with Ferry's index reader and
// with Helm's own loader. When the line scanner and the YAML decoder both
// read a document, they must read the same (or the fast path would change
// what users get); when Helm loads a document, ParseIndex must load it too
// and hold every version Helm keeps, with the same URLs and digest.
// Ferry keeps versions Helm drops for failing chart validation: it only
// needs the version to download the chart. The seeds are the index samples
// of the unit tests, a `helm repo index` document and testdata/fuzz.
func FuzzParseIndex(f *testing.F) {
	for _, doc := range indexSamples {
		if doc == "" {
			doc = string(helmIndex(f, 2, 2))
		}
		f.Add([]byte(doc))
	}
	// Helm logs every entry it skips.
	log.SetOutput(io.Discard)
	dir := f.TempDir()

	f.Fuzz(func(t *testing.T, data []byte) {
		// ParseIndex drops a byte order mark before either path sees it.
		doc := bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
		if scanned, err := scanIndex(doc); err == nil {
			// The scanner skips the values it does not read by indentation
			// alone, so it reads documents whose skipped values are not
			// valid YAML (an unterminated quote in a description); only
			// where the decoder reads the document too must they agree.
			decoded, derr := decodeIndex(doc)
			if derr == nil && !reflect.DeepEqual(normalize(scanned), normalize(decoded)) {
				t.Fatalf("scanner and YAML decoder differ on %q:\nscanner: %+v\ndecoder: %+v", data, scanned, decoded)
			}
		} else if !errors.Is(err, errUnsupported) {
			// The scanner may refuse a document only if the decoder does too.
			if _, derr := decodeIndex(doc); derr == nil {
				t.Fatalf("the scanner refused (%v) a document the YAML decoder reads: %q", err, data)
			}
		}

		p := filepath.Join(dir, "index.yaml")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		want, herr := repo.LoadIndexFile(p)
		got, err := ParseIndex(data)
		if herr != nil {
			return
		}
		if err != nil {
			t.Fatalf("Helm loads the index, ParseIndex fails: %v\n%q", err, data)
		}
		for name, versions := range want.Entries {
			for _, hv := range versions {
				urls := hv.URLs
				if len(urls) == 0 {
					urls = nil
				}
				if !slices.ContainsFunc(got.Entries[name], func(v *ChartVersion) bool {
					vu := v.URLs
					if len(vu) == 0 {
						vu = nil
					}
					return v.Version == hv.Version && v.Digest == hv.Digest && slices.Equal(vu, urls)
				}) {
					t.Fatalf("Helm has %s %s (urls %q, digest %q), ParseIndex has %+v\n%q",
						name, hv.Version, hv.URLs, hv.Digest, got.Entries[name], data)
				}
			}
		}
	})
}
