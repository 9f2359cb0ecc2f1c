package provider

import (
	"context"
	"encoding/json"
	"net/http"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
)

// githubDispatch sends a repository_dispatch event to the repository in the
// address, so a GitHub Actions workflow can run on Flux events. The event
// type is "<kind>/<name>.<namespace>", which workflows filter on, and the
// client payload is the Flux event itself, as Flux sends it.
type githubDispatch struct {
	send func(ctx context.Context, body any) error
}

func newGitHubDispatch(cfg Config, client *http.Client) (Notifier, error) {
	gh, err := githubRepoFor(cfg)
	if err != nil {
		return nil, err
	}
	u, err := apiURL(gh.base, "repos", gh.owner, gh.repo, "dispatches")
	if err != nil {
		return nil, err
	}
	send := func(ctx context.Context, body any) error {
		return do(ctx, client, request{url: u, body: body, headers: gh.headers})
	}
	return &githubDispatch{send: send}, nil
}

// Post dispatches the event.
func (g *githubDispatch) Post(ctx context.Context, e eventv1.Event) error {
	payload, err := json.Marshal(e)
	if err != nil {
		return permanent("encoding the event: %w", err)
	}
	obj := e.InvolvedObject
	return g.send(ctx, map[string]any{
		"event_type":     obj.Kind + "/" + obj.Name + "." + obj.Namespace,
		"client_payload": json.RawMessage(payload),
	})
}
