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
	// maxAzureDevOpsDesc keeps descriptions short enough for the pull
	// request view, which cuts longer ones.
	maxAzureDevOpsDesc = 255
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
	gh, err := githubRepoFor(cfg)
	if err != nil {
		return nil, err
	}
	base, owner, repo, headers := gh.base, gh.owner, gh.repo, gh.headers
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

// githubRepo is a repository on GitHub and how to call its REST API.
type githubRepo struct {
	// base is api.github.com, or a GitHub Enterprise Server's /api/v3.
	base, owner, repo string
	// headers authenticate with the token and pin the API version.
	headers map[string]string
}

// githubRepoFor reads the repository from the address and requires a token,
// for the GitHub types (commit status and repository dispatch).
func githubRepoFor(cfg Config) (githubRepo, error) {
	addr, err := parseRepoAddress(cfg.Address)
	if err != nil {
		return githubRepo{}, err
	}
	owner, repo, err := addr.ownerRepo()
	if err != nil {
		return githubRepo{}, err
	}
	if err := requireToken(cfg); err != nil {
		return githubRepo{}, err
	}
	base := githubAPI
	if addr.host != githubHost {
		base = addr.scheme + "://" + addr.host + "/api/v3"
	}
	return githubRepo{base: base, owner: owner, repo: repo, headers: map[string]string{
		"Authorization":        "Bearer " + cfg.Token,
		"Accept":               "application/vnd.github+json",
		"X-GitHub-Api-Version": "2022-11-28",
	}}, nil
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

// newBitbucketServer posts a build status to Bitbucket Server or Data
// Center's POST /rest/api/latest/projects/{key}/repos/{slug}/commits/{sha}/builds.
// The address is the repository's HTTP clone URL
// (https://<host>[/<context>]/scm/<key>/<slug>.git); it authenticates with
// the Secret's token as a bearer token, or with username and password. A
// status with the same key replaces the previous one, so no lookup of the
// existing status is needed.
func newBitbucketServer(cfg Config, client *http.Client) (Notifier, error) {
	addr, err := parseRepoAddress(cfg.Address)
	if err != nil {
		return nil, err
	}
	// Anything before the last /scm/ is the server's context path.
	prefix, id, ok := "", "", false
	if i := strings.LastIndex("/"+addr.path, "/scm/"); i >= 0 {
		prefix, id, ok = addr.path[:i], addr.path[i+len("scm/"):], true
	}
	key, slug, ok2 := strings.Cut(id, "/")
	if !ok || !ok2 || key == "" || slug == "" || strings.Contains(slug, "/") {
		return nil, errors.New("bitbucketserver provider address must be the repository's HTTP clone URL: https://<host>/scm/<project>/<repository>.git")
	}
	headers := map[string]string{"X-Atlassian-Token": "no-check"}
	var user, pass string
	switch {
	case cfg.Token != "":
		headers["Authorization"] = "Bearer " + cfg.Token
	case cfg.Username != "" && cfg.Password != "":
		user, pass = cfg.Username, cfg.Password
	default:
		return nil, errors.New("bitbucketserver provider needs a 'token', or 'username' and 'password', in spec.secretRef")
	}
	base := addr.scheme + "://" + addr.host + "/" + prefix
	web := cfg.Address
	send := func(ctx context.Context, c *http.Client, s *commitStatus) error {
		u, err := apiURL(base, "rest", "api", "latest", "projects", key, "repos", slug, "commits", s.sha, "builds")
		if err != nil {
			return permanent("building the status URL: %w", err)
		}
		state := "SUCCESSFUL"
		if s.failed {
			state = "FAILED"
		}
		id := sha1.Sum([]byte(s.context))
		body := map[string]string{
			"key": hex.EncodeToString(id[:]), "state": state, "name": s.context,
			"description": truncate(s.description, maxBitbucketDesc), "url": web,
		}
		return do(ctx, c, request{url: u, body: body, headers: headers, user: user, pass: pass})
	}
	return &gitHost{client: client, providerUID: cfg.ProviderUID, send: send}, nil
}

// newAzureDevOps posts a commit status to Azure DevOps'
// POST /{organization}/{project}/_apis/git/repositories/{repository}/commits/{sha}/statuses.
// The address is the repository URL
// (https://dev.azure.com/<organization>/<project>/_git/<repository>) and the
// token a personal access token, sent as the basic-auth password as Azure
// DevOps expects.
func newAzureDevOps(cfg Config, client *http.Client) (Notifier, error) {
	addr, err := parseRepoAddress(cfg.Address)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(addr.path, "/")
	if len(parts) != 4 || parts[2] != "_git" || parts[0] == "" || parts[1] == "" || parts[3] == "" {
		return nil, errors.New("azuredevops provider address must name a repository as https://<host>/<organization>/<project>/_git/<repository>")
	}
	if err := requireToken(cfg); err != nil {
		return nil, err
	}
	base := addr.scheme + "://" + addr.host
	send := func(ctx context.Context, c *http.Client, s *commitStatus) error {
		u, err := apiURL(base, parts[0], parts[1], "_apis", "git", "repositories", parts[3], "commits", s.sha, "statuses")
		if err != nil {
			return permanent("building the status URL: %w", err)
		}
		u.RawQuery = "api-version=6.0"
		state := "succeeded"
		if s.failed {
			state = "error"
		}
		body := map[string]any{
			"state":       state,
			"description": truncate(s.description, maxAzureDevOpsDesc),
			"context":     map[string]string{"genre": "fluxcd", "name": s.context},
		}
		return do(ctx, c, request{url: u, body: body, pass: cfg.Token})
	}
	return &gitHost{client: client, providerUID: cfg.ProviderUID, send: send}, nil
}
