# syntax=docker/dockerfile:1
# One image for the engine's processes; docker-compose.yml gives each its command:
#   worker        node --import tsx src/worker.ts        (npm run worker)
#   API           node --import tsx src/api/main.ts      (npm run api, the default below)
#   codec server  node --import tsx src/codec/main.ts    (npm run codec-server)
#   emulators     node --import tsx src/sandbox/main.ts  (the sandbox, for trying the stack only; SANDBOX_HOST=0.0.0.0)
# The TypeScript runs through tsx, as in development, so there is no build step; nor is the workflow
# bundle built here: each container's worker builds it at its first start (src/workflow-bundle.ts).
# The commands are node itself rather than `npm run`: node is then the process Docker's SIGTERM
# reaches (through the init process compose adds), and the worker drains its activities before it
# stops.
#
# Debian (glibc), not Alpine: the Temporal worker's native core and @swc/core ship glibc builds only.
ARG NODE_VERSION=20.20
FROM node:${NODE_VERSION}-bookworm-slim

# MALLOC_ARENA_MAX=2: the worker's native threads otherwise each grow a malloc arena, and its memory
# with them (docs/performance.md).
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

WORKDIR /app

# Dependencies first, so that a change to the source reuses this layer. Runtime dependencies only:
# tsx, the Temporal SDK (with its workflow bundler) and the rest are all in "dependencies".
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

# The source, owned by root and so read-only to the user the processes run as.
COPY . .

# The unprivileged user of the node image (uid 1000).
USER node

# API, codec server, worker metrics (METRICS_ADDRESS). The emulators use 8301 and 8302.
EXPOSE 8080 8234 9464

CMD ["node", "--import", "tsx", "src/api/main.ts"]
