package git

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

func TestCommitRevision(t *testing.T) {
	t.Parallel()
	const h = "0123456789abcdef0123456789abcdef01234567"
	tests := map[string]Commit{
		"main@sha1:" + h:             {Hash: h, Reference: "main"},
		"v1.2.3@sha1:" + h:           {Hash: h, Reference: "v1.2.3"},
		"refs/pull/1/head@sha1:" + h: {Hash: h, Reference: "refs/pull/1/head"},
		"sha1:" + h:                  {Hash: h},
	}
	for want, c := range tests {
		NewWithT(t).Expect(c.Revision()).To(Equal(want))
	}
}

func TestCommitShortMessage(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	g.Expect((&Commit{Message: "\n  Fix the thing  \n\nLong body.\n"}).ShortMessage()).To(Equal("Fix the thing"))
	long := (&Commit{Message: strings.Repeat("é", 100)}).ShortMessage()
	g.Expect([]rune(long)).To(HaveLen(72))
	g.Expect(long).To(HaveSuffix("…"))
}
