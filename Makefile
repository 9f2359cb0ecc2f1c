# Ferry's developer entry points. `make help` lists them.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

MODULES := pkg source-controller kustomize-controller helm-controller notification-controller rollout-controller cli test
CONTROLLERS := source-controller kustomize-controller helm-controller notification-controller rollout-controller

CONTROLLER_TOOLS_VERSION ?= v0.23.0
LOCALBIN ?= $(CURDIR)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)

# The control plane binaries are built once into a cache outside the checkout.
CLUSTER_BINS = $(shell ./hack/cluster-bins.sh 2>&2 | tail -n 1)
# The Prometheus server the analysis tests query, built on first use.
PROMETHEUS = $(shell ./hack/prometheus.sh 2>&2 | tail -n 1)

GO_TEST_FLAGS ?= -count=1
TEST_TIMEOUT ?= 30m
# Modules whose test packages each run a full cluster (kwok pods, real
# Prometheus) and time out when two run at once on 2 cores: one package at
# a time.
SERIAL_MODULES = rollout-controller cli

# The packages with concurrency (caches, queues, the event server, the
# fetcher, the kubeclient factory) that make test runs again under -race, as
# <module>:<package>[,<package>...]. All are unit tests that need no cluster,
# which keeps the extra run short.
RACE_PACKAGES := pkg:./artifact/fetch,./artifact/server,./kubeclient \
  source-controller:./internal/helm,./internal/buildcache \
  notification-controller:./internal/events,./internal/httpserver,./internal/ttlset,./internal/webhook

# The helm-controller tests of concurrent releases on one target, which only
# the race detector can fail, run under -race against the API server.
HELM_RACE_TESTS := ^TestConcurrentReleasesOneTarget$$

# The fuzz targets make fuzz runs one after another, as <module>:<package>:<target>;
# make test runs their seed corpora (testdata/fuzz) as ordinary tests.
FUZZ_TARGETS := pkg:./artifact/untar:FuzzUntar pkg:./artifact/fetch:FuzzParseDigest \
  pkg:./substitute:FuzzSubstitute pkg:./kustomize:FuzzBuild \
  source-controller:./internal/helm:FuzzParseIndex \
  kustomize-controller:./internal/decrypt:FuzzDecryptFile \
  kustomize-controller:./internal/healthexpr:FuzzHealthExpressions \
  notification-controller:./internal/provider:FuzzParseRevision \
  notification-controller:./internal/events:FuzzEventEndpoint \
  notification-controller:./internal/webhook:FuzzReceiverHandler
FUZZTIME ?= 30s

# The fault suite's size for make chaos: full (200 Kustomizations and 100
# HelmReleases) or short (20 and 10, the form make test runs through go test
# ./... in test/). Its packages run one after another (-p 1): each starts its
# own cluster and controllers, and two at once would measure the machine.
CHAOS ?= full
CHAOS_TIMEOUT ?= 90m

.DEFAULT_GOAL := help

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} \
	  /^[a-zA-Z_-]+:.*?##/ { printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2 } \
	  /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate deepcopy code for the API types.
	cd pkg && $(CONTROLLER_GEN) object paths=./apis/...

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate CRDs and one RBAC role per controller.
	rm -f config/crd/bases/*.yaml
	cd pkg && $(CONTROLLER_GEN) crd paths=./apis/... output:crd:artifacts:config=../config/crd/bases
	./hack/crd-kustomization.sh config/crd
	for c in $(CONTROLLERS); do \
	  (cd $$c && $(CONTROLLER_GEN) rbac:roleName=$$c paths=./... output:rbac:artifacts:config=../config/rbac/$$c); \
	done

.PHONY: fmt
fmt: ## Format the Go code.
	for m in $(MODULES); do (cd $$m && go fmt ./...); done

.PHONY: vet
vet: ## Vet the Go code.
	for m in $(MODULES); do (cd $$m && go vet ./...); done

.PHONY: tidy
tidy: ## Tidy every module's go.mod.
	for m in $(MODULES); do (cd $$m && GOWORK=off go mod tidy); done

.PHONY: build
build: ## Build the controllers and the ferry CLI into bin/.
	for c in $(CONTROLLERS); do (cd $$c && go build -o $(LOCALBIN)/$$c .); done
	cd cli && go build -o $(LOCALBIN)/ferry .

.PHONY: verify
verify: generate manifests fmt ## Regenerate and fail on any diff or untracked file.
	@# go.work.sum is the go command's own checksum cache, not generated code.
	@if [ -n "$$(git status --porcelain -- . ':!bin' ':!go.work.sum')" ]; then \
	  echo "generated or formatted files are out of date:"; git status --porcelain -- . ':!bin' ':!go.work.sum'; git diff --stat; exit 1; \
	fi

##@ Test

.PHONY: cluster-bins
cluster-bins: ## Build kube-apiserver, etcd, controller-manager, scheduler, kubectl and kwok (cached).
	./hack/cluster-bins.sh

.PHONY: prometheus
prometheus: ## Build the Prometheus server the rollout analysis tests query (cached).
	./hack/prometheus.sh

.PHONY: test
test: vet chromium ## Run every test, including the end-to-end suite, against a real local cluster.
	export FERRY_CLUSTER_BINS="$(CLUSTER_BINS)" FERRY_PROMETHEUS="$(PROMETHEUS)"; failed=""; \
	for m in $(MODULES); do p=; case " $(SERIAL_MODULES) " in *" $$m "*) p="-p 1";; esac; \
	  (cd $$m && go test $(GO_TEST_FLAGS) $$p -timeout $(TEST_TIMEOUT) ./...) || failed="$$failed $$m"; done; \
	for e in $(RACE_PACKAGES); do m=$${e%%:*}; p=$${e#*:}; \
	  (cd $$m && go test $(GO_TEST_FLAGS) -race -timeout $(TEST_TIMEOUT) $${p//,/ }) || failed="$$failed $$m(-race)"; done; \
	(cd helm-controller && go test $(GO_TEST_FLAGS) -race -timeout $(TEST_TIMEOUT) -run '$(HELM_RACE_TESTS)' ./internal/controller/helmrelease/) || failed="$$failed helm-controller(-race)"; \
	if [ -n "$$failed" ]; then echo "FAILED modules:$$failed"; exit 1; fi

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 30s), one after another.
	failed=""; \
	for e in $(FUZZ_TARGETS); do m=$${e%%:*}; rest=$${e#*:}; p=$${rest%%:*}; t=$${rest#*:}; \
	  echo "== $$m $$p $$t"; \
	  (cd $$m && go test -run='^$$' -fuzz="^$$t\$$" -fuzztime=$(FUZZTIME) $$p) || failed="$$failed $$t"; done; \
	if [ -n "$$failed" ]; then echo "FAILED fuzz targets:$$failed"; exit 1; fi

.PHONY: e2e
e2e: ## Run only the end-to-end suite.
	export FERRY_CLUSTER_BINS="$(CLUSTER_BINS)"; \
	cd test && go test $(GO_TEST_FLAGS) -timeout $(TEST_TIMEOUT) ./e2e/...

.PHONY: chaos
chaos: ## Run the fault suite (test/chaos) at size CHAOS (full|short) and write docs/chaos/report.md.
	export FERRY_CLUSTER_BINS="$(CLUSTER_BINS)"; \
	cd test && FERRY_CHAOS=$(CHAOS) FERRY_CHAOS_REPORT=$(CURDIR)/docs/chaos/report.md \
	  go test $(GO_TEST_FLAGS) -p 1 -v -timeout $(CHAOS_TIMEOUT) ./chaos/...

.PHONY: chromium
chromium: ## Install Debian's chromium for the UI's browser tests, benchmark and screenshots, when missing.
	@command -v chromium >/dev/null || { apt-get update && apt-get install -y chromium; }

.PHONY: screenshots
screenshots: chromium ## Write a PNG of each page of the web UI to docs/screenshots (runs the UI's browser tests).
	export FERRY_CLUSTER_BINS="$(CLUSTER_BINS)"; \
	cd cli && FERRY_SCREENSHOTS=$(CURDIR)/docs/screenshots go test $(GO_TEST_FLAGS) -timeout $(TEST_TIMEOUT) -run 'TestBrowseDiffReconcile|TestNamespaceScopedUser|TestRolloutPage$$' ./internal/ui/e2e/

.PHONY: bench
bench: $(if $(filter ui,$(SCENARIO)),chromium) ## Run the benchmark harness (SCENARIO=name N=size) and write a report.
	export FERRY_CLUSTER_BINS="$(CLUSTER_BINS)"; \
	cd test && go run ./bench $(if $(SCENARIO),--scenario=$(SCENARIO)) $(if $(N),--n=$(N))

##@ Run

.PHONY: dev
dev: ## Start a local cluster with the CRDs and the controllers, and show how to use it.
	export FERRY_CLUSTER_BINS="$(CLUSTER_BINS)"; \
	cd test && go run ./dev

$(CONTROLLER_GEN):
	mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
	mv $(LOCALBIN)/controller-gen $(CONTROLLER_GEN)
