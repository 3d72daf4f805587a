# syntax=docker/dockerfile:1
# One image for every Granary app: the Deployment (or `docker run ... <args>`) picks the app by
# passing its bundle, e.g. `dist/processor.mjs`. The apps share the dependency tree, so one image
# is built, scanned and pulled once instead of five times.
#
# Build: docker build -t granary:0.1.0 .
# Run:   docker run --rm -e GRANARY_CONFIG=/etc/granary/api.yaml -v "$PWD/config:/etc/granary:ro" \
#          -p 8041:8041 granary:0.1.0 dist/api.mjs

# Node 24 LTS on Debian bookworm, the exact release of .nvmrc (what `make install` runs the tests
# with; make docker-lint checks they match). Pin the digest too
# (node:24.22.3-bookworm-slim@sha256:...) when building: it cannot be looked up offline.
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# Stage 1: only the package manifests, so the dependency layers below are rebuilt when a
# package.json or the lockfile changes, not on every source edit.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
  && find . -name package.json -not -path '*/node_modules/*' -exec cp --parents {} /manifests/ \; \
  && cp package-lock.json /manifests/

# Stage 2: production dependencies exactly as locked; the bundles import them at run time.
FROM ${NODE_IMAGE} AS dependencies
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Stage 3: every dependency (esbuild, tsx) and the sources, to build one bundle per app in dist/
# (docs/adr/0017-running-production-code.md).
FROM ${NODE_IMAGE} AS bundles
WORKDIR /src
COPY --from=manifests /manifests/ ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY schemas ./schemas
COPY libs ./libs
COPY apps ./apps
COPY tools/build ./tools/build
RUN node_modules/.bin/tsx tools/build/bundle.ts

# Stage 4: the runtime image: production dependencies, the bundles, and the data files the code
# finds beside its sources; no TypeScript, no build tools, no npm cache.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# virsh for the poller's compute pollsters (ADR 0022): read-only libvirt client, no daemon. The
# version is bookworm's, pinned as the base image is.
RUN apt-get update \
  && apt-get install -y --no-install-recommends libvirt-clients=9.0.0-4+deb12u2 \
  && rm -rf /var/lib/apt/lists/*
# Files stay owned by root and read-only for the app user: a compromised process cannot rewrite
# the code it runs (the Deployments also mount the root filesystem read-only).
COPY --from=dependencies /app/ ./
COPY --from=bundles /src/dist ./dist
COPY libs/polling/data ./libs/polling/data
COPY apps/ingest/config ./apps/ingest/config
COPY libs/console/assets ./libs/console/assets
# The official image's unprivileged `node` user, by number: the kubelet can only enforce
# runAsNonRoot against a numeric uid, and a name may not resolve outside the image.
USER 1000:1000
# 8041: the Gnocchi REST API (apps/api); 9464: every app's admin port (/metrics, /healthz, /readyz).
EXPOSE 8041 9464
# No HEALTHCHECK: Kubernetes ignores it (the Deployments probe /healthz and /readyz), and the
# image also runs the CLI, which serves no admin port. Node's flags: tools/build/launch.ts says why.
ENTRYPOINT ["node", "--enable-source-maps", "--disable-warning=TimeoutNegativeWarning"]
CMD ["dist/api.mjs"]
