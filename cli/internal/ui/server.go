package ui

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"sync"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the UI server.
type Options struct {
	// Addr is the listen address; it must be loopback unless AllowRemote.
	Addr        string
	AllowRemote bool
	// Targets are the kubeconfig contexts shown, the first one by default.
	Targets []Target
	// SyncTimeout bounds the wait for the watch caches at start.
	SyncTimeout time.Duration
	// PageSize is how many rows one overview page holds.
	PageSize int
	// BatchWindow is how long changes gather before one live message.
	BatchWindow time.Duration
}

func (o *Options) defaults() {
	if o.SyncTimeout == 0 {
		o.SyncTimeout = 30 * time.Second
	}
	if o.PageSize == 0 {
		o.PageSize = 100
	}
	if o.BatchWindow == 0 {
		o.BatchWindow = 500 * time.Millisecond
	}
}

// Server is the UI: the clusters' caches and the HTTP handlers over them.
type Server struct {
	opts     Options
	clusters []*cluster
	byName   map[string]*cluster
	guard    *guard
	hub      *hub
	pages    map[string]*template.Template
	now      func() time.Time
}

// New connects to every target, starts the informers and waits for their
// caches, so the first page shows every object.
func New(ctx context.Context, opts Options) (*Server, error) {
	opts.defaults()
	if len(opts.Targets) == 0 {
		return nil, errors.New("no kubeconfig context to show")
	}
	s := &Server{opts: opts, byName: map[string]*cluster{}, guard: newGuard(opts.AllowRemote),
		hub: newHub(opts.BatchWindow), now: time.Now}
	var err error
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	for _, t := range opts.Targets {
		if _, dup := s.byName[t.Name]; dup {
			return nil, fmt.Errorf("context %q given twice", t.Name)
		}
		c, err := newCluster(t, s.hub.publish)
		if err != nil {
			return nil, fmt.Errorf("context %s: %w", t.Name, err)
		}
		s.clusters = append(s.clusters, c)
		s.byName[t.Name] = c
	}
	var wg sync.WaitGroup
	for i, c := range s.clusters {
		wg.Add(1)
		go func() { defer wg.Done(); c.start(ctx, opts.Targets[i].Namespaces, opts.SyncTimeout) }()
	}
	wg.Wait()
	return s, nil
}

// pageFiles are the pages; each is parsed with the shared layout and
// partials.
var pageFiles = []string{"overview.html", "object.html", "error.html"}

func parsePages() (map[string]*template.Template, error) {
	pages := map[string]*template.Template{}
	for _, p := range pageFiles {
		t, err := template.New(p).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/"+p)
		if err != nil {
			return nil, err
		}
		pages[p] = t
	}
	return pages, nil
}

// Handler serves every page, the assets and the live stream.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", s.overview)
	mux.HandleFunc("GET /rows", s.overviewRows)
	mux.HandleFunc("GET /events", s.hub.serve)
	mux.HandleFunc("GET /c/{cluster}/{kind}/{ns}/{name}", s.objectPage("page"))
	mux.HandleFunc("GET /c/{cluster}/{kind}/{ns}/{name}/live", s.objectPage("live"))
	mux.HandleFunc("GET /c/{cluster}/{kind}/{ns}/{name}/diff", s.diff)
	mux.HandleFunc("POST /c/{cluster}/{kind}/{ns}/{name}/{action}", s.act)
	return s.secure(mux)
}

// secure sets the headers every response carries: no inline script or
// anything from another origin, no framing, no sniffing; and refuses a
// Host that is not loopback when serving on loopback.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.guard.checkHost(r); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// Serve listens on opts.Addr (refusing a non-loopback address unless
// allowed) and serves until ctx ends; ready is called with the address
// once it listens.
func Serve(ctx context.Context, opts Options, ready func(addr string)) error {
	if err := CheckAddr(opts.Addr, opts.AllowRemote); err != nil {
		return err
	}
	s, err := New(ctx, opts)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
		_ = srv.Close()
	}()
	if ready != nil {
		ready(l.Addr().String())
	}
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// render writes a page; a template error is a bug and is shown as such.
func (s *Server) render(w http.ResponseWriter, page, name string, code int, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if err := s.pages[page].ExecuteTemplate(w, name, data); err != nil {
		fmt.Fprintf(w, "<p class=error>rendering %s: %s</p>", template.HTMLEscapeString(page), template.HTMLEscapeString(err.Error()))
	}
}

// fail shows an error page.
func (s *Server) fail(w http.ResponseWriter, code int, msg string) {
	s.render(w, "error.html", "page", code, map[string]any{"Title": http.StatusText(code), "Message": msg})
}

func (s *Server) cluster(name string) (*cluster, bool) {
	c, ok := s.byName[name]
	return c, ok
}

func (s *Server) clusterNames() []string {
	out := make([]string, len(s.clusters))
	for i, c := range s.clusters {
		out[i] = c.name
	}
	return out
}
