#!/usr/bin/env bash
# The deployment files, run for real on a Docker engine: the Dockerfile as it is, compose.yml and
# (unless CI_DOCKER_CLUSTER=0) compose.cluster.yml. .ci/run calls it after `npm test`; it also runs
# alone, as root: `.ci/docker.sh`.
#
# 1. Debian's docker.io, docker-compose and debootstrap (installed when missing); dockerd started
#    when no engine answers. If the engine cannot start here (no root, no privileges), one SKIP line
#    says why and the script exits 0: the only case that is not a pass or a failure.
# 2. Stand-ins for the base images, because no image registry is reachable from CI: debian:bookworm-slim
#    is a debootstrap --variant=minbase rootfs from this machine's own Debian mirror (docker import);
#    node:20-bookworm-slim adds this machine's node and npm and a `node` user (uid 1000);
#    node:20-bookworm adds python3, make, g++ and the Node headers (better-sqlite3 compiles from
#    source). For the test only: a real deployment pulls the official images.
# 3. The project's Dockerfile, built with this machine's CA bundle as the BuildKit secret
#    `ca-certificates` (builds here go through a TLS-intercepting proxy); the final image must hold
#    none of it. Then the image alone (its own HEALTHCHECK, uid 1000, /health), compose.yml
#    (`up --build --exit-code-from publisher`: the publisher's --verify; an event through
#    `docker restart`, `down` + `up`, and gone after `down -v`), and compose.cluster.yml (both
#    publishers' --verify, both aggregators healthy and agreeing).
# Every container, network and volume it makes is removed on exit; the images stay as a cache.
#
# Knobs: CI_DOCKER_CLUSTER=0 skips the cluster part; CI_DOCKER_CA_BUNDLE=<file> picks the CA bundle
# (default: $SSL_CERT_FILE or /etc/ssl/certs/ca-certificates.crt); CI_DOCKER_WITHOUT_CA=1 also builds
# the build stage without it (expected to fail on the certificate, behind the proxy);
# CI_DOCKER_KEEP_ENGINE=1 leaves a dockerd this script started running.
set -euo pipefail
cd "$(dirname "$0")/.."

# The node and npm this checkout runs with (resolved before PATH changes below): the stand-ins carry them.
node_bin=$(readlink -f "$(command -v node)")
npm_cli=$(readlink -f "$(command -v npm)")
node_version=$("$node_bin" --version)
npm_version=$("$node_bin" "$npm_cli" --version)

# Another docker client may come first on the PATH: Debian's, explicitly. docker-compose v1 runs
# `docker build` from the PATH, hence /usr/bin first for it too.
DOCKER=/usr/bin/docker
COMPOSE=/usr/bin/docker-compose
export PATH="/usr/bin:/usr/sbin:/bin:/sbin:$PATH"
# The Dockerfile mounts a build secret (RUN --mount): BuildKit, also for compose's builds.
export DOCKER_BUILDKIT=1 COMPOSE_DOCKER_CLI_BUILD=1

IMAGE=exactly-once-aggregator:latest
STANDIN_LABEL=org.exactly-once.ci.standin
# Bump when the debootstrap recipe below changes: the cached debian:bookworm-slim is rebuilt.
STANDIN_RECIPE=1
SUITE=bookworm

# shellcheck source=docker/lib.sh
source .ci/docker/lib.sh
# shellcheck source=docker/standins.sh
source .ci/docker/standins.sh

# --- 3. the project's image ------------------------------------------------------------------------

ca_bundle=${CI_DOCKER_CA_BUNDLE:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}
secret_args=()
if [[ -s $ca_bundle ]]; then
  secret_args=(--secret "id=ca-certificates,src=$ca_bundle")
  log "building $IMAGE from ./Dockerfile with the CA bundle $ca_bundle as the build secret ca-certificates"
else
  log "building $IMAGE from ./Dockerfile (no CA bundle at $ca_bundle: none passed)"
fi
t0=$(date +%s)
$DOCKER build --progress=plain "${secret_args[@]}" -t "$IMAGE" . >"$work/build.log" 2>&1 ||
  { tail -n 40 "$work/build.log" >&2; fail "docker build of ./Dockerfile failed (its last lines above)"; }
build_s=$(($(date +%s) - t0))
cached=$(grep -c '^#[0-9]* CACHED$' "$work/build.log" || true)
measure "image build: $build_s s ($cached steps from Docker's cache)"
# The slow steps, from BuildKit's log: "#12 [build 5/8] RUN ..." … "#12 DONE 76.6s".
awk '/^#[0-9]+ \[/ { name[$1] = substr($0, index($0, "[")) } /^#[0-9]+ DONE [0-9.]+s$/ && $3 + 0 >= 3 { printf "  %5.1f s  %s\n", $3, substr(name[$1], 1, 90) }' "$work/build.log"
size=$($DOCKER image inspect -f '{{.Size}}' "$IMAGE")
measure "image size: $((size / 1000000)) MB ($IMAGE)"
check "the image's USER" node $DOCKER image inspect -f '{{.Config.User}}' "$IMAGE"
# The native module the build stage compiled loads in the run stage.
sqlite=$($DOCKER run --rm "$IMAGE" node -e "const db = new (require('better-sqlite3'))(':memory:'); console.log(db.prepare('select sqlite_version() as v').get().v)") ||
  fail "better-sqlite3 does not load in the image"
log "ok: better-sqlite3 loads in the image (SQLite $sqlite)"

# The CA bundle must not be in the image: no layer holds a certificate of the bundle that node does
# not already carry built in (the proxy's CA among them; the stand-in base has no CA store at all).
if [[ -s $ca_bundle ]]; then
  "$node_bin" - "$ca_bundle" >"$work/ca-lines" <<'EOF'
const { readFileSync } = require('node:fs');
const { rootCertificates } = require('node:tls');
const body = (pem) => pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
const builtIn = new Set(rootCertificates.map(body));
const certificates = readFileSync(process.argv[2], 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
const extra = certificates.filter((pem) => !builtIn.has(body(pem)));
// Two full base64 lines from inside each certificate: text no other file has by chance.
for (const pem of extra) for (const line of pem.split('\n').filter((l) => /^[A-Za-z0-9+/]{64}$/.test(l)).slice(1, 3)) console.log(line);
console.error(`${certificates.length} certificates in the bundle, ${extra.length} not built into node`);
EOF
  patterns=$(wc -l <"$work/ca-lines")
  ((patterns > 0)) || fail "no certificate of $ca_bundle to look for in the image"
  hits=$($DOCKER save "$IMAGE" | grep -a -c -F -f "$work/ca-lines" || true)
  ((hits == 0)) || fail "the image holds $hits lines of the build's CA bundle $ca_bundle (docker save $IMAGE | grep -F)"
  if $DOCKER image inspect -f '{{json .Config.Env}}' "$IMAGE" | grep -q NODE_EXTRA_CA_CERTS ||
    $DOCKER history --no-trunc "$IMAGE" | grep -q 'BEGIN CERTIFICATE'; then
    fail "the image's config or history refers to the build's CA certificates"
  fi
  log "ok: no layer of $IMAGE holds the CA bundle ($patterns certificate lines looked for in docker save)"
fi

marker_topic=ci.docker
marker_id="ci-docker-$run_id-$(date +%s)"
marker_event="{\"topic\":\"$marker_topic\",\"event_id\":\"$marker_id\",\"timestamp\":\"2025-10-22T10:30:00Z\",\"source\":\"ci-docker\",\"payload\":{\"run\":\"$run_id\"}}"
marker_ids() { local body; body=$(http GET "$1/events?topic=$marker_topic&limit=1000") && js "$body" 'b.events.map((e) => e.event_id).join(",")'; }
# publish_marker URL → accepted/unique/duplicates of one POST /publish of the marker event.
publish_marker() { local body; body=$(http POST "$1/publish" "$marker_event") && js "$body" '[b.accepted, b.unique, b.duplicates].join("/")'; }
stats_unique() { local body; body=$(http GET "$1/stats") && js "$body" 'b.unique_processed'; }
health_of() { $DOCKER inspect -f '{{.State.Health.Status}}' "$1"; }

# Here the secret is what npm ci needs: a container without the CA bundle (the stand-in has no CA
# store, like the build stage without the secret) cannot reach the npm registry over TLS.
probe=$($DOCKER run --rm node:20-bookworm-slim node -e "
  fetch('https://registry.npmjs.org/', { signal: AbortSignal.timeout(15000) }).then(
    () => console.log('reachable'), (error) => console.log(error.cause?.code ?? error.name))") || fail "the TLS probe did not run"
case $probe in
  reachable) log "note: the npm registry answers over TLS without the CA bundle here: nothing intercepts" ;;
  SELF_SIGNED_CERT_IN_CHAIN | UNABLE_TO_GET_ISSUER_CERT_LOCALLY | UNABLE_TO_VERIFY_LEAF_SIGNATURE | DEPTH_ZERO_SELF_SIGNED_CERT)
    log "ok: without the CA bundle TLS to the npm registry fails here ($probe): npm ci needs the secret" ;;
  *) log "note: the npm registry is not reachable without the CA bundle ($probe)" ;;
esac
# CI_DOCKER_WITHOUT_CA=1: also build the build stage without the secret (npm's retries make it ~75 s):
# the secret is optional, so that build gets as far as npm ci and fails there on the certificate.
if [[ ${CI_DOCKER_WITHOUT_CA:-0} == 1 ]] && ((${#secret_args[@]})); then
  t0=$(date +%s)
  if $DOCKER build --progress=plain --no-cache --target build . >"$work/build-without-ca.log" 2>&1; then
    log "ok: without the CA bundle the build stage passes too: nothing intercepts TLS here ($(($(date +%s) - t0)) s)"
  elif error=$(grep -m1 -o -E 'SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE|DEPTH_ZERO_SELF_SIGNED_CERT' "$work/build-without-ca.log"); then
    log "ok: without the CA secret the build runs up to npm ci, which fails with $error ($(($(date +%s) - t0)) s)"
  else
    tail -n 30 "$work/build-without-ca.log" >&2
    fail "the build stage without the CA secret failed, and not on a certificate: the secret must be optional"
  fi
fi

# --- 4. the image alone: its own HEALTHCHECK, the user, /health ------------------------------------

port=$(free_port 8080)
base="http://127.0.0.1:$port"
container="$run_id-image"
cleanup_steps+=("$DOCKER rm -f -v $container")
$DOCKER run -d --name "$container" -p "$port:8080" -v "$container-data:/data" "$IMAGE" >/dev/null
cleanup_steps+=("$DOCKER volume rm $container-data")
healthy_ms=$(wait_healthy "$container")
measure "docker run → healthy (the Dockerfile's HEALTHCHECK, every 10 s): $(ms_to_s "$healthy_ms")"
check "/health of the image alone" '{"status":"ok"}' http GET "$base/health"
check "uid inside the container" 1000 $DOCKER exec "$container" id -u
pid=$($DOCKER inspect -f '{{.State.Pid}}' "$container")
check "owner of the container's main process, seen from the host" 1000 stat -c %u "/proc/$pid"
check "/data owner" node $DOCKER exec "$container" stat -c %U /data
$DOCKER rm -f -v "$container" >/dev/null
$DOCKER volume rm "$container-data" >/dev/null

# --- 5. compose.yml --------------------------------------------------------------------------------

export COMPOSE_PROJECT_NAME="$run_id"
export AGGREGATOR_PORT=$port
compose() { $COMPOSE -f compose.yml "$@"; }
cleanup_steps+=("$COMPOSE -f compose.yml down -v --remove-orphans --timeout 10")
volume="${run_id}_aggregator-data"

log "docker-compose up --build --exit-code-from publisher (project $run_id, host port $port)"
t0=$(date +%s)
if ! compose up --build --exit-code-from publisher >"$work/compose-up.log" 2>&1; then
  grep -E '^publisher' "$work/compose-up.log" >&2 || tail -n 40 "$work/compose-up.log" >&2
  fail "docker-compose up --exit-code-from publisher did not exit 0"
fi
measure "docker-compose up --build until the publisher exited 0: $(($(date +%s) - t0)) s"
publisher=$(compose ps -q publisher)
check "the publisher container's exit code" 0 $DOCKER inspect -f '{{.State.ExitCode}}' "$publisher"
verify=$($DOCKER logs "$publisher" 2>&1 | sed -n 's/^ *verify *//p')
[[ $verify == OK:* ]] || fail "the publisher's --verify line is not OK: '${verify:-missing}'"
log "ok: publisher --verify $verify"
unique=$(sed -E -n 's/.*unique_processed \+([0-9]+) \(expected \1\).*/\1/p' <<<"$verify")
[[ -n $unique ]] || fail "no unique_processed count in the publisher's --verify line"

# After --exit-code-from, compose stopped the aggregator: up again on the same volume.
aggregator_up() {
  local id ms
  compose up -d --no-build aggregator >>"$work/compose.log" 2>&1 || fail "docker-compose up -d aggregator failed"
  id=$(compose ps -q aggregator)
  ms=$(wait_healthy "$id")
  measure "$1 → healthy: $(ms_to_s "$ms")"
}

aggregator_up "docker-compose up -d aggregator (stopped by --exit-code-from)"
id=$(compose ps -q aggregator)
check "aggregator healthcheck status" healthy health_of "$id"
check "uid of the compose aggregator" 1000 $DOCKER exec "$id" id -u
check "/stats unique_processed after the publisher run" "$unique" stats_unique "$base"

check "first publish of the marker event (accepted/unique/duplicates)" 1/1/0 publish_marker "$base"
check "marker events readable" "$marker_id" marker_ids "$base"

t0=$(date +%s%N)
$DOCKER restart "$id" >/dev/null
ms=$(wait_healthy "$id")
measure "docker restart → healthy: $(ms_to_s $((($(date +%s%N) - t0) / 1000000)))"
check "marker event after docker restart" "$marker_id" marker_ids "$base"
check "the marker again after docker restart (deduplicated)" 1/0/1 publish_marker "$base"
check "/stats unique_processed after docker restart" $((unique + 1)) stats_unique "$base"

compose down --timeout 30 >>"$work/compose.log" 2>&1 || fail "docker-compose down failed"
$DOCKER volume inspect "$volume" >/dev/null 2>&1 || fail "docker-compose down removed the volume $volume"
[[ -z $($DOCKER ps -aq --filter "label=com.docker.compose.project=$run_id") ]] || fail "containers left after docker-compose down"
aggregator_up "docker-compose down; up -d aggregator"
check "marker event after down + up" "$marker_id" marker_ids "$base"
check "/stats unique_processed after down + up" $((unique + 1)) stats_unique "$base"

compose down -v --timeout 30 >>"$work/compose.log" 2>&1 || fail "docker-compose down -v failed"
if $DOCKER volume inspect "$volume" >/dev/null 2>&1; then fail "docker-compose down -v left the volume $volume"; fi
aggregator_up "docker-compose down -v; up -d aggregator"
check "marker events after down -v" "" marker_ids "$base"
check "/stats unique_processed after down -v" 0 stats_unique "$base"
compose down -v --timeout 30 >>"$work/compose.log" 2>&1 || fail "docker-compose down -v failed"
single_node_s=$(($(date +%s) - t_start))
measure "single-node part, everything above: $single_node_s s"

# --- 6. compose.cluster.yml ------------------------------------------------------------------------

if [[ ${CI_DOCKER_CLUSTER:-1} == 0 ]]; then
  log "CI_DOCKER_CLUSTER=0: compose.cluster.yml not run"
else
  cluster_project="$run_id-cluster"
  port_a=$(free_port 8080)
  port_b=$(free_port 8081)
  [[ $port_a != "$port_b" ]] || port_b=$(free_port 0)
  cluster() { COMPOSE_PROJECT_NAME=$cluster_project AGGREGATOR_A_PORT=$port_a AGGREGATOR_B_PORT=$port_b $COMPOSE -f compose.cluster.yml "$@"; }
  cleanup_steps+=("COMPOSE_PROJECT_NAME=$cluster_project $COMPOSE -f compose.cluster.yml down -v --remove-orphans --timeout 10")
  log "docker-compose -f compose.cluster.yml up -d --build (project $cluster_project, host ports $port_a and $port_b)"
  t0=$(date +%s)
  # compose starts each service once its depends_on hold: publisher-b after publisher-a exited 0.
  cluster up -d --build >"$work/cluster-up.log" 2>&1 ||
    { tail -n 40 "$work/cluster-up.log" >&2; fail "docker-compose -f compose.cluster.yml up -d --build failed"; }
  total_unique=0
  for publisher in publisher-a publisher-b; do
    id=$(cluster ps -q "$publisher")
    [[ -n $id ]] || fail "no $publisher container"
    code=$(timeout 300 $DOCKER wait "$id") || fail "$publisher did not finish within 300 s"
    verify=$($DOCKER logs "$id" 2>&1 | sed -n 's/^ *verify *//p')
    [[ $code == 0 ]] || fail "$publisher exited $code: --verify ${verify:-missing}; $($DOCKER logs --tail 5 "$id" 2>&1)"
    [[ $verify == OK:* ]] || fail "$publisher --verify: '${verify:-missing}'"
    log "ok: $publisher exited 0, --verify $verify"
    n=$(sed -E -n 's/.*unique_processed \+([0-9]+) \(expected \1\).*/\1/p' <<<"$verify")
    total_unique=$((total_unique + n))
  done
  measure "docker-compose -f compose.cluster.yml up --build until both publishers exited 0: $(($(date +%s) - t0)) s"
  for service in nats-1 nats-2 nats-3 aggregator-a aggregator-b; do
    id=$(cluster ps -q "$service")
    check "$service health" healthy health_of "$id"
  done
  base_a="http://127.0.0.1:$port_a"
  base_b="http://127.0.0.1:$port_b"
  # Every node counts the whole cluster: both say what the two publishers made unique.
  check "aggregator-a /stats unique_processed" "$total_unique" stats_unique "$base_a"
  check "aggregator-b /stats unique_processed" "$total_unique" stats_unique "$base_b"
  check "marker event published through aggregator-a" 1/1/0 publish_marker "$base_a"
  # Replication is asynchronous: b sees the event once it applied that log entry.
  seen=
  for _ in $(seq 40); do
    seen=$(marker_ids "$base_b") || fail "reading the marker through aggregator-b"
    [[ $seen == "$marker_id" ]] && break
    sleep 0.25
  done
  check "the marker event read through aggregator-b" "$marker_id" echo "$seen"
  check "the marker again through aggregator-b (deduplicated cluster-wide)" 1/0/1 publish_marker "$base_b"
  cluster down -v --timeout 30 >>"$work/compose.log" 2>&1 || fail "docker-compose -f compose.cluster.yml down -v failed"
  measure "cluster part: $(($(date +%s) - t0)) s"
fi

leftover=$($DOCKER ps -aq --filter "name=$run_id"; $DOCKER network ls -q --filter "name=$run_id"
  comm -13 <(echo "$volumes_before") <($DOCKER volume ls -q | sort))
[[ -z $leftover ]] || fail "left behind: $(echo $leftover)"
log "PASS in $(($(date +%s) - t_start)) s"
printf '  %s\n' "${measured[@]}"
