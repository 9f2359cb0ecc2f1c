#!/usr/bin/env bash
# Builds the Prometheus server the analysis tests query, from its Go module at
# a pinned version, into a cache directory outside the checkout (next to the
# cluster binaries), and reuses it. The module carries no web UI assets; the
# tests need only scraping and the query API. Prints the binary's path on its
# last line.
set -euo pipefail

PROMETHEUS_VERSION=${PROMETHEUS_VERSION:-v0.316.0}

cache=${FERRY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ferry}
dir="$cache/prometheus/$PROMETHEUS_VERSION"
bin="$dir/prometheus"

if [ ! -x "$bin" ]; then
  echo "prometheus: building $PROMETHEUS_VERSION (about 6 minutes on 2 cores)" >&2
  mkdir -p "$dir"
  GOBIN="$dir" CGO_ENABLED=0 GOFLAGS=-mod=mod go install -trimpath \
    "github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_VERSION" >&2
fi
echo "$bin"
