// Package ui is `ferry ui`: a web UI served by the ferry binary itself, for
// whoever is on call to see why a deploy is broken and act on it from a
// browser, without running or granting anything new.
//
// It is a client like kubectl: every request to the API server is made with
// the user's own kubeconfig, so the UI shows exactly what that user may see
// and a forbidden action comes back as "forbidden by RBAC" with the verb and
// the resource, never as a silent failure. There is no database: the state
// shown is the watch cache of informers on the Flux kinds (one list and one
// watch per kind and cluster), and changes reach open pages as batched
// server-sent events, so a page never polls the API server.
//
// Pages are server-rendered html/template with a little JavaScript; the
// templates, the script and the style sheet are embedded with embed, so a
// page works on a machine with no internet. The overview is paginated on the
// server, which keeps it fast with thousands of objects: a browser never
// receives more than one page of rows, and filtering runs over the in-memory
// cache.
//
// The UI owns no GitOps logic: listing and summaries, the inventory tree,
// the diff and the actions are the packages the CLI commands use.
package ui
