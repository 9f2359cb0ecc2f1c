package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/ferrycd/ferry/cli/internal/actions"
	"github.com/ferrycd/ferry/cli/internal/kube"
	"github.com/ferrycd/ferry/cli/internal/objects"
)

// sourceWait bounds how long "reconcile with source" waits for the source
// before it asks the object, as `ferry reconcile --with-source` does.
const sourceWait = time.Minute

// act runs a button's action with the user's own client and sends the
// browser back to the object page (303, so a reload does not repeat it).
// A refusal, by the CSRF guard or by RBAC, is a page that says so.
func (s *Server) act(w http.ResponseWriter, r *http.Request) {
	id := refOf(r)
	if err := s.guard.checkPost(r); err != nil {
		s.fail(w, http.StatusForbidden, err.Error())
		return
	}
	c, ok := s.cluster(id.Cluster)
	if !ok {
		s.fail(w, http.StatusNotFound, fmt.Sprintf("no cluster %q", id.Cluster))
		return
	}
	k, err := objects.Lookup(id.Kind)
	if err != nil {
		s.fail(w, http.StatusNotFound, err.Error())
		return
	}
	target := actions.Ref{Kind: k, Namespace: id.Namespace, Name: id.Name}
	ctx, cancel := context.WithTimeout(r.Context(), sourceWait+10*time.Second)
	defer cancel()
	kc, err := c.clients()
	if err != nil {
		s.actionFailed(w, r, err)
		return
	}
	var done, token string
	action := r.PathValue("action")
	if k.Kind == objects.Rollout.Kind {
		if msg, ok, err := rolloutAction(ctx, kc, action, id.Namespace, id.Name); ok {
			if err != nil {
				s.actionFailed(w, r, err)
				return
			}
			http.Redirect(w, r, id.URL()+"?"+url.Values{"done": {msg}}.Encode(), http.StatusSeeOther)
			return
		}
	}
	switch action {
	case "reconcile":
		token, err = s.requestReconcile(ctx, kc, target)
		done = "reconcile requested"
	case "reconcile-source":
		token, err = s.reconcileWithSource(ctx, c, kc, target)
		done = "source reconciled; reconcile requested"
	case "suspend":
		err = actions.SetSuspend(ctx, kc.Client, target, true)
		done = "suspended"
	case "resume":
		if err = actions.SetSuspend(ctx, kc.Client, target, false); err == nil {
			token, err = s.requestReconcile(ctx, kc, target)
		}
		done = "resumed; reconcile requested"
	default:
		s.fail(w, http.StatusNotFound, fmt.Sprintf("no action %q: the buttons are reconcile, reconcile-source, suspend and resume, and on a Rollout promote, promote-full, abort, retry, pause and unpause", action))
		return
	}
	if err != nil {
		s.actionFailed(w, r, err)
		return
	}
	v := url.Values{"done": {done}}
	if token != "" {
		v.Set("requested", token)
	}
	http.Redirect(w, r, id.URL()+"?"+v.Encode(), http.StatusSeeOther)
}

func (s *Server) requestReconcile(ctx context.Context, kc *kube.Clients, target actions.Ref) (string, error) {
	req, err := actions.RequestReconcile(ctx, kc.Client, target, false, s.now())
	return req.Token, err
}

// reconcileWithSource asks the source first and waits until it handled the
// request, so the object then reconciles the newest artifact.
func (s *Server) reconcileWithSource(ctx context.Context, c *cluster, kc *kube.Clients, target actions.Ref) (string, error) {
	obj, ok := c.object(target.Kind.Kind, target.Namespace, target.Name)
	if !ok {
		return "", fmt.Errorf("%s not found", target)
	}
	src, err := actions.SourceOf(obj)
	if err != nil {
		return "", err
	}
	req, err := actions.RequestReconcile(ctx, kc.Client, src, false, s.now())
	if err != nil {
		return "", err
	}
	if _, err := actions.Wait(ctx, kc.Client, req, 500*time.Millisecond, sourceWait); err != nil {
		return "", fmt.Errorf("source %s: %w", src, err)
	}
	return s.requestReconcile(ctx, kc, target)
}

// actionFailed shows the object page with the error on top; a 403 from the
// API server keeps its status code, so a script sees it too.
func (s *Server) actionFailed(w http.ResponseWriter, r *http.Request, err error) {
	v, code, msg := s.objectView(r)
	if code != http.StatusOK {
		s.fail(w, code, msg+"; and the action failed: "+err.Error())
		return
	}
	v.CSRF = s.guard.token(s.guard.session(w, r))
	v.Error = err.Error()
	code = http.StatusBadGateway
	if isForbidden(err) {
		code = http.StatusForbidden
	}
	s.render(w, "object.html", "page", code, v)
}
