package provider

import (
	"context"
	"net/http"
	"testing"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	. "github.com/onsi/gomega"
)

func TestParseRevision(t *testing.T) {
	sha256Hex := testSHA + "0123456789abcdef01234567"
	for _, tc := range []struct {
		in, want string
		wantErr  bool
	}{
		{in: "main@sha1:" + testSHA, want: testSHA},
		{in: "refs/heads/feature/x@sha1:" + testSHA, want: testSHA},
		{in: "v1.2.3@sha1:" + testSHA, want: testSHA},
		{in: "sha1:" + testSHA, want: testSHA},
		{in: "main@sha256:" + sha256Hex, want: sha256Hex},
		{in: "main/" + testSHA, want: testSHA},
		{in: "0123456789ABCDEF0123456789ABCDEF01234567", want: testSHA},
		{in: "1.2.3", wantErr: true},
		{in: "sha256:" + testSHA[:10], wantErr: true},
		{in: "md5:" + testSHA, wantErr: true},
		{in: "main@sha1:" + testSHA[:39] + "z", wantErr: true},
		{in: "", wantErr: true},
	} {
		got, err := parseRevision(tc.in)
		if tc.wantErr {
			if err == nil {
				t.Errorf("parseRevision(%q) = %q, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseRevision(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseRepoAddress(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    repoAddress
		wantErr bool
	}{
		{in: "https://github.com/org/app", want: repoAddress{"https", "github.com", "org/app"}},
		{in: "https://github.com/org/app.git/", want: repoAddress{"https", "github.com", "org/app"}},
		{in: "http://127.0.0.1:3000/org/app", want: repoAddress{"http", "127.0.0.1:3000", "org/app"}},
		{in: "ssh://git@gitlab.example:2222/group/sub/app.git", want: repoAddress{"https", "gitlab.example", "group/sub/app"}},
		{in: "git@github.com:org/app.git", want: repoAddress{"https", "github.com", "org/app"}},
		{in: "https://gitlab.example/1234", want: repoAddress{"https", "gitlab.example", "1234"}},
		{in: "https://github.com/", wantErr: true},
		{in: "ftp://host/org/app", wantErr: true},
		{in: "not a url", wantErr: true},
		{in: "", wantErr: true},
	} {
		got, err := parseRepoAddress(tc.in)
		if tc.wantErr {
			if err == nil {
				t.Errorf("parseRepoAddress(%q) = %+v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseRepoAddress(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

// TestCommitStatusNeedsRepository checks that an address GitHub cannot name
// a repository with is refused when the notifier is built.
func TestCommitStatusNeedsRepository(t *testing.T) {
	g := NewWithT(t)
	_, err := New(Config{Type: "github", Address: "https://github.com/org", Token: "x"})
	g.Expect(err).To(MatchError(ContainSubstring("<owner>/<repository>")))
	_, err = New(Config{Type: "gitea", Address: "https://gitea.example/org/app"})
	g.Expect(err).To(MatchError(ContainSubstring("'token' key")))
	_, err = New(Config{Type: "bitbucket", Address: "https://bitbucket.org/ws/app", Token: "no-colon"})
	g.Expect(err).To(MatchError(ContainSubstring("<username>:<app password>")))
}

// TestCommitStatusSkipsAndRefuses checks that Progressing events set no
// status and that an event without a revision fails without a retry.
func TestCommitStatusSkipsAndRefuses(t *testing.T) {
	g := NewWithT(t)
	s := newSink(t, http.StatusCreated, "{}")
	n, err := New(Config{Type: "github", Address: s.URL + "/org/app", Token: "x"})
	g.Expect(err).NotTo(HaveOccurred())

	progressing := testEvent(eventv1.EventSeverityInfo)
	progressing.Reason = "Progressing"
	g.Expect(n.Post(context.Background(), progressing)).To(Succeed())

	norev := testEvent(eventv1.EventSeverityInfo)
	norev.Metadata = nil
	err = n.Post(context.Background(), norev)
	g.Expect(err).To(MatchError(ContainSubstring("no revision")))
	g.Expect(IsRetryable(err)).To(BeFalse())

	helm := testEvent(eventv1.EventSeverityInfo)
	helm.Metadata = map[string]string{"revision": "6.5.4"}
	err = n.Post(context.Background(), helm)
	g.Expect(err).To(MatchError(ContainSubstring("does not name a Git commit")))
	g.Expect(s.requests()).To(BeEmpty())

	origin := testEvent(eventv1.EventSeverityInfo)
	origin.Metadata = map[string]string{"revision": "latest@sha256:" + testSHA + testSHA[:24], "originRevision": "main@sha1:" + testSHA}
	g.Expect(n.Post(context.Background(), origin)).To(Succeed())
	g.Expect(s.requests()[0].URI).To(HaveSuffix("/statuses/" + testSHA))
}
