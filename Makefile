# Granary: the two commands a user needs are `make run` and `make test`; the rest are their parts.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPM_STAMP := node_modules/.package-lock.json
TSX := node_modules/.bin/tsx

.PHONY: help install build lint typecheck test test-unit test-integration bench run up down infra-up infra-down infra-status \
	k8s-check docker-lint conformance

help:
	@echo "make run             start the infrastructure and every Granary app; Ctrl-C stops all"
	@echo "make up | make down  the same stack as make run, in the background (for scripts and tests)"
	@echo "make test            install dependencies, type-check, lint, unit, integration and conformance tests"
	@echo "make bench           run every benchmark (infrastructure started as needed)"
	@echo "make infra-up|infra-down|infra-status   local Kafka, registry, PostgreSQL, Redis, S3Proxy"
	@echo "make k8s-check       render every k8s overlay and validate it offline (kubeconform -strict)"
	@echo "make docker-lint     lint the Dockerfile (hadolint + pinned-base/non-root rules)"
	@echo "make conformance [GABBITS=dir]   Gnocchi's gabbi files against a fresh local deployment"

# `npm install` against the committed lockfile, only when it changed since the last install.
# (npm ci: npm 11.19 records only this platform's optional packages in the lock, then refuses it.)
$(NPM_STAMP): package-lock.json package.json
	npm install --no-audit --no-fund
	@touch $(NPM_STAMP)

install: $(NPM_STAMP)

build typecheck: install
	npm run -s build

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

GABBITS ?= ../shared/conformance/gabbits

# Services this target had to start are stopped again afterwards; ones already up stay up.
conformance: install
	@already_up=$$($(TSX) test/infra/cli.ts status >/dev/null 2>&1 && echo yes || echo no); \
	$(TSX) test/infra/cli.ts up >/dev/null && set -a && source .granary/infra.env && set +a && \
	$(TSX) tools/conformance/run.ts $(GABBITS); status=$$?; \
	if [ "$$already_up" = no ]; then $(TSX) test/infra/cli.ts down >/dev/null; fi; exit $$status

test: install typecheck lint k8s-check docker-lint test-unit test-integration conformance

bench: install infra-up
	set -a && source .granary/infra.env && set +a && npm run -s bench --workspaces --if-present

run: install
	$(TSX) tools/run.ts

up: install
	$(TSX) tools/run.ts up

down: install
	$(TSX) tools/run.ts down

infra-up: install
	$(TSX) test/infra/cli.ts up

infra-down: install
	$(TSX) test/infra/cli.ts down

infra-status: install
	$(TSX) test/infra/cli.ts status
