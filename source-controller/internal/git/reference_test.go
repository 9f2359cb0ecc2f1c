package git

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestReferencePrecedence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ref  Reference
		want string
	}{
		{Reference{}, "branch 'master'"},
		{Reference{Branch: "main"}, "branch 'main'"},
		{Reference{Branch: "main", Tag: "v1"}, "tag 'v1'"},
		{Reference{Tag: "v1", SemVer: ">=1"}, "tag matching semver '>=1'"},
		{Reference{SemVer: ">=1", Name: "refs/pull/1/head"}, "ref 'refs/pull/1/head'"},
		{Reference{Name: "refs/pull/1/head", Commit: "abc"}, "commit 'abc'"},
		{Reference{Branch: "main", Commit: "abc"}, "commit 'abc'"},
	}
	for _, tt := range tests {
		NewWithT(t).Expect(tt.ref.String()).To(Equal(tt.want))
	}
}

func TestReferenceValidate(t *testing.T) {
	t.Parallel()
	sha := "0123456789abcdef0123456789abcdef01234567"
	valid := []Reference{
		{}, {Branch: "feature/x"}, {Tag: "v1.0.0"}, {SemVer: "~1.2"}, {Name: "refs/pull/1/head"}, {Name: "HEAD"},
		{Commit: sha}, {Commit: "0123456789ABCDEF0123456789ABCDEF01234567", Branch: "main"},
	}
	for _, r := range valid {
		NewWithT(t).Expect(r.validate()).To(Succeed(), r.String())
	}
	invalid := map[string]Reference{
		"is not a full 40-character SHA-1":            {Commit: "abc123"},
		"branch 'a..b' is not a valid Git reference":  {Branch: "a..b"},
		"branch 'x y' is not a valid Git reference":   {Commit: sha, Branch: "x y"},
		"tag 'v1~' is not a valid Git reference name": {Tag: "v1~"},
		"must be a full reference":                    {Name: "main"},
		"ref name 'refs/../x' is not a valid":         {Name: "refs/../x"},
		"semver range 'foo' is not valid":             {SemVer: "foo"},
	}
	for msg, r := range invalid {
		err := r.validate()
		g := NewWithT(t)
		g.Expect(err).To(MatchError(ErrInvalid))
		g.Expect(err.Error()).To(ContainSubstring(msg))
	}
}

func TestPickSemVer(t *testing.T) {
	t.Parallel()
	tags := []string{"v1.0.0", "1.1.0", "v1.2.0-rc.1", "v1.10.0", "v2.0.0", "latest", "v1.9.9", "release-3"}
	tests := []struct {
		rng, want string
		kind      Kind
	}{
		{rng: "*", want: "v2.0.0"},
		{rng: "1.x", want: "v1.10.0"},
		{rng: "<1.2.0", want: "1.1.0"},
		{rng: "~1.2.0-0", want: "v1.2.0-rc.1"},
		{rng: ">=1.0.0 <1.2.0", want: "1.1.0"},
		{rng: ">=3.0.0", kind: KindNoMatchingTag},
		{rng: "nope", kind: KindInvalid},
	}
	for _, tt := range tests {
		g := NewWithT(t)
		got, err := pickSemVer(tt.rng, tags)
		if tt.kind != "" {
			g.Expect(KindOf(err)).To(Equal(tt.kind), tt.rng)
			continue
		}
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(Equal(tt.want), tt.rng)
	}

	// Equal versions spelled two ways pick the same tag whatever the order.
	a, _ := pickSemVer("1.0.0", []string{"1.0.0", "v1.0.0"})
	b, _ := pickSemVer("1.0.0", []string{"v1.0.0", "1.0.0"})
	NewWithT(t).Expect(a).To(Equal(b))
}
