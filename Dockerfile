# syntax=docker/dockerfile:1

# The API and the worker share one image:
#   docker run … audience-sync                          the API (default command)
#   docker run … audience-sync node --max-old-space-size=96 dist/worker/main.js   the worker
# Debian slim rather than Alpine: the Temporal SDK's native core is built against glibc.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# --- deps: every dependency, for the build ----------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts stay off as in package.json's allowScripts: the only approved one prepares the
# embedded Postgres of the local stack, which images never run.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund

# --- build: compile, bundle the workflows once so workers start without webpack, and build the
# console's pages (dist/console), which the API serves at /console ------------------------------
FROM deps AS build
COPY . .
RUN npm run build \
 && test -f dist/workflow-bundle.js \
 && test -f dist/api/main.js \
 && test -f dist/worker/main.js \
 && test -f dist/console/index.html

# --- runtime: production dependencies and the build, as a non-root user -------------------------
FROM ${NODE_IMAGE} AS runtime
# Two malloc arenas: glibc otherwise gives each of the Temporal core's threads its own, and the
# worker's memory grows with them.
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
# Answers for the API; the worker serves no HTTP, so its service turns this check off.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/api/main.js"]
