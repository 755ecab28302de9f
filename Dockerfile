# Build stage: dev dependencies, the native better-sqlite3 build, the TypeScript bundle.
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm ci runs `prepare`, which builds only where the sources already are: not yet, here.
COPY scripts ./scripts
# Behind a TLS-intercepting proxy npm needs the proxy's CA: pass a CA bundle as the BuildKit secret
# `ca-certificates` (DOCKER_BUILDKIT=1 docker build --secret id=ca-certificates,src=/etc/ssl/certs/ca-certificates.crt .).
# Optional; mounted for this one RUN only, so it is in no layer of either stage.
RUN --mount=type=secret,id=ca-certificates \
    if [ -s /run/secrets/ca-certificates ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca-certificates; fi \
 && npm ci --no-audit --no-fund
COPY tsconfig.json tsup.config.ts ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Run stage: production dependencies only, same Debian release (the uWS binary needs glibc 2.36).
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["node", "dist/main.js"]
