// Package git holds the Git logic of the source-controller: turning a
// GitRepository's Secret into transport credentials, asking a remote which
// commit a reference points to, shallow-cloning that commit, and verifying
// PGP signatures of commits and tags.
//
// It is pure logic on top of github.com/go-git/go-git/v5 and makes no
// Kubernetes API calls, so every behaviour can be tested against real Git
// servers on loopback without a cluster. The controller owns the mapping from
// the typed errors returned here (see Kind) to condition reasons.
//
// Revisions follow Flux's format, so artifacts produced by Ferry and by Flux
// for the same commit carry the same revision string:
//
//	main@sha1:<hex>              branch
//	v1.2.3@sha1:<hex>            tag, or the tag a semver range picked
//	refs/pull/1/head@sha1:<hex>  spec.ref.name, kept in full
//	sha1:<hex>                   bare commit
package git
