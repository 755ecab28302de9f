# NATS for compose.cluster.yml: Debian's nats-server, the build the cluster tests run (2.9.10, in
# bookworm), so the containers behave like the tested cluster. One config for every node
# (docker/nats.conf); each container names itself with NATS_SERVER_NAME.
# Build context: docker/ (see compose.cluster.yml).
FROM debian:bookworm-slim
# wget is the healthcheck's HTTP client (the slim image has none); the glob pins the upstream version.
RUN apt-get update \
 && apt-get install -y --no-install-recommends 'nats-server=2.9.10-*' wget \
 && rm -rf /var/lib/apt/lists/*
COPY nats.conf /etc/nats/nats.conf
# The package made the nats system user; the JetStream store is its volume.
RUN mkdir -p /data && chown nats:nats /data
USER nats
VOLUME ["/data"]
# clients, cluster routes, monitoring
EXPOSE 4222 6222 8222
STOPSIGNAL SIGTERM
# Plain /healthz, not ?js-enabled-only=true: it also answers 503 ("JetStream has not established
# contact with a meta leader") until this node's cluster has a quorum, so healthy means streams can
# be made and written through it.
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=5 \
  CMD wget -q -O /dev/null http://127.0.0.1:8222/healthz
CMD ["nats-server", "-c", "/etc/nats/nats.conf"]
