# syntax=docker/dockerfile:1
# One image for the engine's processes; docker-compose.yml gives each its command:
#   worker        node --max-old-space-size=192 --max-semi-space-size=16 dist/worker.js   (npm run worker, compiled)
#   API           node dist/api/main.js                          (npm run api, compiled; the default below)
#   codec server  node dist/codec/main.js                        (npm run codec-server, compiled)
#   emulators     node dist/sandbox/main.js                      (npm run sandbox, compiled: for trying the stack only; SANDBOX_HOST=0.0.0.0)
#   CLI           node bin/refundflow.mjs <command>              (npx refundflow: the compiled CLI, as the image has no source)
# Two stages: the build stage compiles the TypeScript to JavaScript and bundles the workflows of that
# compiled code (`npm run build`: tsc with tsconfig.build.json into dist/, then
# src/build-workflows.ts into dist/workflow-bundles/, with and without the failure converter); the
# runtime stage has the production dependencies and that build, nothing else: no source, no tsx, no
# TypeScript. Its worker loads the bundle built here and polls at once; it refuses to start when the
# bundle is not of the code beside it (src/workflow-bundle.ts). The commands are node itself rather
# than `npm run`: node is then the process Docker's SIGTERM reaches (through the init process compose
# adds), and the worker drains its activities before it stops.
#
# Node 24 ("Krypton"), an LTS line with security fixes until April 2028: the newest Node the
# Temporal TypeScript SDK's CI runs (Node 20 and 24, the oldest and newest it officially supports, at
# the time of writing). Node 26 is the newer LTS (since October 2026): move to it once the SDK tests
# on it. package.json's "engines" says the same (>=24), and CI runs the suite on Node 24 too
# (scripts/node-runtime.mjs, NODE_RUNTIME_VERSION: move both with this line).
# Debian bookworm (glibc), not Alpine: the Temporal worker's native core and @swc/core ship glibc
# builds only. Both stages on the same base: the build runs on the Node the image runs.
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
WORKDIR /app
# All dependencies (TypeScript and the rest of the dev dependencies too), then what the build reads.
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
# npm run build's pre-script, and the two files it reads.
COPY scripts/ensure-deps.mjs scripts/node-runtime.mjs scripts/cache-dir.mjs ./scripts/
COPY src ./src
RUN npm run build

FROM node:${NODE_VERSION}-bookworm-slim
# The commit the image is built from (docker compose passes it): the workers' build id is the package
# version and this commit (src/release.ts); without it, a hash of the code.
ARG REFUNDFLOW_COMMIT=
# MALLOC_ARENA_MAX=2: the worker's native threads otherwise each grow a malloc arena, and its memory
# with them (docs/performance.md).
ENV NODE_ENV=production \
    REFUNDFLOW_COMMIT=${REFUNDFLOW_COMMIT} \
    MALLOC_ARENA_MAX=2 \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
WORKDIR /app

# Dependencies first, so that a change to the source reuses this layer. package.json and
# package-lock.json stay: the first makes dist/'s .js files ES modules ("type": "module") and gives
# the CLI its version, the second is part of the bundles' key (the SDK's workflow runtime is in them).
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

# The compiled code with its workflow bundles, and the CLI's entry; owned by root, and so read-only to
# the user the processes run as.
COPY --from=build /app/dist ./dist
COPY bin/refundflow.mjs ./bin/

# The unprivileged user of the node image (uid 1000).
USER node

# API, codec server, worker metrics (METRICS_ADDRESS). The emulators use 8301 and 8302.
EXPOSE 8080 8234 9464

CMD ["node", "dist/api/main.js"]
