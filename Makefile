# Granary: the two commands a user needs are `make run` and `make test`; the rest are their parts.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPM_STAMP := node_modules/.package-lock.json
TSX := node_modules/.bin/tsx

.PHONY: help install build lint typecheck test test-unit test-integration bench run infra-up infra-down infra-status

help:
	@echo "make run             start the infrastructure and every Granary app; Ctrl-C stops all"
	@echo "make test            install dependencies, type-check, lint, run unit and integration tests"
	@echo "make bench           run every benchmark (infrastructure started as needed)"
	@echo "make infra-up|infra-down|infra-status   local Kafka, registry, PostgreSQL, Redis, S3Proxy"

# npm ci only when the lockfile changed since the last install.
$(NPM_STAMP): package-lock.json
	npm ci --no-audit --no-fund
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

test: install typecheck lint test-unit test-integration

bench: install infra-up
	set -a && source .granary/infra.env && set +a && npm run -s bench --workspaces --if-present

run: install
	$(TSX) tools/run.ts

infra-up: install
	$(TSX) test/infra/cli.ts up

infra-down: install
	$(TSX) test/infra/cli.ts down

infra-status: install
	$(TSX) test/infra/cli.ts status
