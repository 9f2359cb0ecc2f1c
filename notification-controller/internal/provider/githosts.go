package provider

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// The Git hosts' public API endpoints, used when the address names the
// public service; any other host is a self-hosted instance and is asked at
// its own address.
const (
	githubHost       = "github.com"
	githubAPI        = "https://api.github.com"
	bitbucketHost    = "bitbucket.org"
	bitbucketAPI     = "https://api.bitbucket.org/2.0"
	maxGitHubDesc    = 140
	maxGitLabDesc    = 255
	maxGiteaDesc     = 255
	maxBitbucketDesc = 255
)

// gitHost posts a commit status through one host's API. send does the
// host-specific part; the event-to-status mapping is shared.
type gitHost struct {
	client      *http.Client
	providerUID string
	send        func(ctx context.Context, client *http.Client, s *commitStatus) error
}

// Post sets the status of the commit the event names.
func (g *gitHost) Post(ctx context.Context, e eventv1.Event) error {
	s, err := statusFor(e, g.providerUID)
	if err != nil || s == nil {
		return err
	}
	return g.send(ctx, g.client, s)
}

// requireToken fails with a message naming the Secret key to set.
func requireToken(cfg Config) error {
	if cfg.Token == "" {
		return errors.New(cfg.Type + " provider needs an API token in the 'token' key of spec.secretRef")
	}
	return nil
}

// newGitHub posts to POST /repos/{owner}/{repo}/statuses/{sha}, on
// api.github.com or a GitHub Enterprise Server's /api/v3.
func newGitHub(cfg Config, client *http.Client) (Notifier, error) {
	addr, err := parseRepoAddress(cfg.Address)
	if err != nil {
		return nil, err
	}
	owner, repo, err := addr.ownerRepo()
	if err != nil {
		return nil, err
	}
	if err := requireToken(cfg); err != nil {
		return nil, err
	}
	base := githubAPI
	if addr.host != githubHost {
		base = addr.scheme + "://" + addr.host + "/api/v3"
	}
	headers := map[string]string{
		"Authorization":        "Bearer " + cfg.Token,
		"Accept":               "application/vnd.github+json",
		"X-GitHub-Api-Version": "2022-11-28",
	}
	send := func(ctx context.Context, c *http.Client, s *commitStatus) error {
		u, err := apiURL(base, "repos", owner, repo, "statuses", s.sha)
		if err != nil {
			return permanent("building the status URL: %w", err)
		}
		state := "success"
		if s.failed {
			state = "failure"
		}
		body := map[string]string{"state": state, "context": s.context, "description": truncate(s.description, maxGitHubDesc)}
		return do(ctx, c, request{url: u, body: body, headers: headers})
	}
	return &gitHost{client: client, providerUID: cfg.ProviderUID, send: send}, nil
}

// newGitLab posts to POST /api/v4/projects/{url-encoded path or id}/statuses/{sha}.
func newGitLab(cfg Config, client *http.Client) (Notifier, error) {
	addr, err := parseRepoAddress(cfg.Address)
	if err != nil {
		return nil, err
	}
	if err := requireToken(cfg); err != nil {
		return nil, err
	}
	base := addr.scheme + "://" + addr.host + "/api/v4"
	headers := map[string]string{"PRIVATE-TOKEN": cfg.Token}
	send := func(ctx context.Context, c *http.Client, s *commitStatus) error {
		u, err := apiURL(base, "projects", addr.path, "statuses", s.sha)
		if err != nil {
			return permanent("building the status URL: %w", err)
		}
		state := "success"
		if s.failed {
			state = "failed"
		}
		body := map[string]string{"state": state, "name": s.context, "description": truncate(s.description, maxGitLabDesc)}
		return do(ctx, c, request{url: u, body: body, headers: headers})
	}
	return &gitHost{client: client, providerUID: cfg.ProviderUID, send: send}, nil
}

// newGitea posts to POST /api/v1/repos/{owner}/{repo}/statuses/{sha}.
func newGitea(cfg Config, client *http.Client) (Notifier, error) {
	addr, err := parseRepoAddress(cfg.Address)
	if err != nil {
		return nil, err
	}
	owner, repo, err := addr.ownerRepo()
	if err != nil {
		return nil, err
	}
	if err := requireToken(cfg); err != nil {
		return nil, err
	}
	base := addr.scheme + "://" + addr.host + "/api/v1"
	headers := map[string]string{"Authorization": "token " + cfg.Token}
	send := func(ctx context.Context, c *http.Client, s *commitStatus) error {
		u, err := apiURL(base, "repos", owner, repo, "statuses", s.sha)
		if err != nil {
			return permanent("building the status URL: %w", err)
		}
		state := "success"
		if s.failed {
			state = "failure"
		}
		body := map[string]string{"state": state, "context": s.context, "description": truncate(s.description, maxGiteaDesc)}
		return do(ctx, c, request{url: u, body: body, headers: headers})
	}
	return &gitHost{client: client, providerUID: cfg.ProviderUID, send: send}, nil
}

// newBitbucket posts a build status to Bitbucket Cloud's
// POST /2.0/repositories/{workspace}/{repo}/commit/{sha}/statuses/build,
// authenticating with "<username>:<app password>" from the token (or the
// username and password keys).
func newBitbucket(cfg Config, client *http.Client) (Notifier, error) {
	addr, err := parseRepoAddress(cfg.Address)
	if err != nil {
		return nil, err
	}
	workspace, repo, err := addr.ownerRepo()
	if err != nil {
		return nil, err
	}
	user, pass := cfg.Username, cfg.Password
	if cfg.Token != "" {
		var ok bool
		if user, pass, ok = strings.Cut(cfg.Token, ":"); !ok {
			return nil, errors.New("bitbucket provider token must have the form <username>:<app password>")
		}
	}
	if user == "" || pass == "" {
		return nil, errors.New("bitbucket provider needs '<username>:<app password>' in the 'token' key of spec.secretRef")
	}
	base := bitbucketAPI
	if addr.host != bitbucketHost {
		base = addr.scheme + "://" + addr.host + "/2.0"
	}
	web := addr.scheme + "://" + addr.host + "/" + addr.path
	send := func(ctx context.Context, c *http.Client, s *commitStatus) error {
		u, err := apiURL(base, "repositories", workspace, repo, "commit", s.sha, "statuses", "build")
		if err != nil {
			return permanent("building the status URL: %w", err)
		}
		state := "SUCCESSFUL"
		if s.failed {
			state = "FAILED"
		}
		// Bitbucket limits keys to 40 characters; a SHA-1 of the context is
		// stable and always fits.
		key := sha1.Sum([]byte(s.context))
		body := map[string]string{
			"state": state, "key": hex.EncodeToString(key[:]), "name": s.context,
			"url": web, "description": truncate(s.description, maxBitbucketDesc),
		}
		return do(ctx, c, request{url: u, body: body, user: user, pass: pass})
	}
	return &gitHost{client: client, providerUID: cfg.ProviderUID, send: send}, nil
}
