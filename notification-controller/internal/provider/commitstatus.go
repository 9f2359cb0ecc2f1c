package provider

import (
	"fmt"
	"net/url"
	"strings"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	fluxmeta "github.com/fluxcd/pkg/apis/meta"
)

// commitStatus is what every Git host's status API needs from an event.
type commitStatus struct {
	// sha is the commit, as lowercase hex.
	sha string
	// failed is true for error events.
	failed bool
	// context names the status so later events replace it:
	// "<kind>/<name>/<first part of the Provider UID>", lowercased, as
	// Flux writes it, so statuses created under Flux keep being updated.
	context string
	// description is the reason in words and the message's first line.
	description string
}

// statusFor extracts the commit status from an event. It returns nil for
// Progressing events, which would flap a status between pending and done on
// every apply, and a permanent error when the event names no commit.
func statusFor(e eventv1.Event, providerUID string) (*commitStatus, error) {
	if e.Reason == fluxmeta.ProgressingReason {
		return nil, nil
	}
	rev, ok := e.GetRevision()
	if !ok {
		return nil, permanent("event has no revision metadata, so no commit status can be set")
	}
	sha, err := parseRevision(rev)
	if err != nil {
		return nil, permanent("%w", err)
	}
	id := e.InvolvedObject.Kind + "/" + e.InvolvedObject.Name
	if uid, _, _ := strings.Cut(providerUID, "-"); uid != "" {
		id += "/" + uid
	}
	desc := humanReason(e.Reason)
	if line := strings.TrimSpace(firstLine(e.Message)); line != "" {
		desc += ": " + line
	}
	if s := e.Metadata["summary"]; s != "" {
		desc = s + " - " + desc
	}
	return &commitStatus{sha: sha, failed: isError(e), context: strings.ToLower(id), description: desc}, nil
}

// parseRevision returns the commit of a Flux revision: "<ref>@sha1:<hex>",
// "sha1:<hex>" (also sha256), the older "<branch>/<hex>", or a bare hash.
func parseRevision(rev string) (string, error) {
	s := rev
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	if algo, hash, ok := strings.Cut(s, ":"); ok {
		if algo != "sha1" && algo != "sha256" {
			return "", fmt.Errorf("revision %q does not name a Git commit", rev)
		}
		s = hash
	} else if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	s = strings.ToLower(s)
	if (len(s) != 40 && len(s) != 64) || strings.Trim(s, "0123456789abcdef") != "" {
		return "", fmt.Errorf("revision %q does not name a Git commit", rev)
	}
	return s, nil
}

// repoAddress is a repository URL split into the parts the APIs need.
type repoAddress struct {
	// scheme is http or https; SSH addresses map to https.
	scheme string
	// host is the host, with the port for http(s) addresses.
	host string
	// path is the repository path without slashes around it or ".git".
	path string
}

// parseRepoAddress reads a repository address in any form a user copies from
// a Git host: https://host/owner/repo(.git), ssh://git@host/owner/repo or
// git@host:owner/repo.git.
func parseRepoAddress(addr string) (repoAddress, error) {
	bad := fmt.Errorf("provider address is not a repository URL such as https://<host>/<owner>/<repository>")
	var r repoAddress
	switch {
	case strings.Contains(addr, "://"):
		u, err := url.Parse(addr)
		if err != nil || u.Host == "" {
			return r, bad
		}
		switch u.Scheme {
		case "http", "https":
			r.scheme, r.host = u.Scheme, u.Host
		case "ssh":
			r.scheme, r.host = "https", u.Hostname()
		default:
			return r, bad
		}
		r.path = u.Path
	case strings.Contains(addr, ":"):
		userHost, path, _ := strings.Cut(addr, ":")
		_, host, found := strings.Cut(userHost, "@")
		if !found {
			host = userHost
		}
		if host == "" {
			return r, bad
		}
		r.scheme, r.host, r.path = "https", host, path
	default:
		return r, bad
	}
	r.path = strings.TrimSuffix(strings.Trim(r.path, "/"), ".git")
	if r.path == "" {
		return r, bad
	}
	return r, nil
}

// ownerRepo splits a path into exactly two segments, as GitHub, Gitea and
// Bitbucket name repositories.
func (r repoAddress) ownerRepo() (string, string, error) {
	owner, repo, ok := strings.Cut(r.path, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return "", "", fmt.Errorf("provider address must name a repository as <owner>/<repository>, got path %q", r.path)
	}
	return owner, repo, nil
}

// apiURL joins escaped path segments onto base and parses the result.
func apiURL(base string, segments ...string) (*url.URL, error) {
	var b strings.Builder
	b.WriteString(strings.TrimSuffix(base, "/"))
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return url.Parse(b.String())
}
