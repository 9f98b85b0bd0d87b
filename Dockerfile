# syntax=docker/dockerfile:1
# Build stage: full toolchain, because better-sqlite3 compiles from source (see .prebuild-installrc).
FROM node:24-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# node-gyp builds against the headers that ship with this Node image instead of fetching them.
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json .prebuild-installrc ./
COPY scripts ./scripts
COPY prisma ./prisma
RUN npm ci --no-audit --no-fund
COPY nest-cli.json tsconfig.json ./
COPY apps ./apps
COPY libs ./libs
# The runtime's node_modules: production dependencies without what npm keeps as optional peers (the
# Prisma CLI with its studio and TypeScript) and without files nothing loads; about 64 MB instead of
# 440 MB. Migrations stay: they are plain SQL under prisma/ that the app applies at startup.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && node scripts/slim-runtime-modules.js

# Runtime stage: compiled JavaScript, production dependencies and migrations, run as `node`.
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    DATABASE_URL=file:/app/data/shared.sqlite3
WORKDIR /app
RUN mkdir -p /app/data && chown node:node /app/data
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/prisma ./prisma
COPY --from=build /app/dist ./dist
USER node
VOLUME ["/app/data"]
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/apps/api/apps/api/src/main.js"]
