# Sourced by .ci/docker.sh: logging, the tools and the engine (started when none answers), the
# clean-up of everything a run makes, and the small helpers the checks use.
t_start=$(date +%s)
log() { printf '[ci-docker %4ss] %s\n' "$(($(date +%s) - t_start))" "$*"; }
fail() { printf '[ci-docker %4ss] FAIL: %s\n' "$(($(date +%s) - t_start))" "$*" >&2; exit 1; }
skip() { printf '[ci-docker] SKIP: the Docker deployment checks did not run: %s\n' "$*"; exit 0; }
measured=()
measure() { measured+=("$1"); log "measured: $1"; }

# --- 1. tools and engine ---------------------------------------------------------------------------

missing=()
[[ -x $DOCKER ]] || missing+=(docker.io)
[[ -x $COMPOSE ]] || missing+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if ((${#missing[@]})); then
  ((EUID == 0)) || skip "not root, so ${missing[*]} cannot be installed and dockerd cannot be started"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/ci-docker.XXXXXX)
run_id="eoa-ci-$$"
dockerd_pid=
cleanup_steps=()
cleanup() {
  local code=$?
  trap - EXIT
  set +e
  if ((code != 0)) && ((${#cleanup_steps[@]})); then
    log "containers at the failure:"
    $DOCKER ps -a --filter "name=$run_id" --format '  {{.Names}} {{.Status}}' 2>/dev/null
    for name in $($DOCKER ps -a --filter "name=$run_id" --format '{{.Names}}' 2>/dev/null); do
      printf -- '--- last log lines of %s\n' "$name"
      $DOCKER logs --tail 25 "$name" 2>&1 | cut -c1-400
    done
  fi
  local step
  for step in "${cleanup_steps[@]}"; do eval "$step" >/dev/null 2>&1; done
  # Anonymous volumes this run made (the images declare VOLUME /data), where something left one.
  if [[ -n ${volumes_before+set} ]]; then
    for step in $(comm -13 <(echo "$volumes_before") <($DOCKER volume ls -q | sort)); do $DOCKER volume rm "$step" >/dev/null 2>&1; done
  fi
  if [[ -n $dockerd_pid ]] && [[ ${CI_DOCKER_KEEP_ENGINE:-0} != 1 ]]; then
    kill "$dockerd_pid" 2>/dev/null
    for _ in $(seq 60); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.5; done
  fi
  # debootstrap mounts proc, sys (and, in a container, /dev) in its target: never delete through them.
  if [[ -d $work ]]; then
    awk -v dir="$work/" 'index($2, dir) == 1 { print $2 }' /proc/mounts | sort -r | while read -r mount; do umount -l "$mount"; done
    rm -rf --one-file-system "$work"
  fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ((EUID != 0)) && ! $DOCKER info >/dev/null 2>&1; then
  skip "no Docker engine answers and, not being root, this script cannot start dockerd"
fi
((EUID == 0)) || $DOCKER image inspect debian:bookworm-slim >/dev/null 2>&1 ||
  skip "not root, so the stand-in base images cannot be made (debootstrap needs root)"

# One run at a time on a machine: the engine, the image tags and the stand-ins are shared.
lock=/tmp/exactly-once-ci-docker.lock
{ exec 9>>"$lock"; } 2>/dev/null || exec 9<"$lock"
flock 9

if ! $DOCKER info >/dev/null 2>&1; then
  command -v dockerd >/dev/null 2>&1 || fail "docker.io is installed but there is no dockerd"
  log "no engine answers: starting dockerd"
  # Not holding the lock (fd 9): a dockerd left running must not block the next run.
  setsid dockerd >"$work/dockerd.log" 2>&1 </dev/null 9>&- &
  dockerd_pid=$!
  for _ in $(seq 120); do
    $DOCKER info >/dev/null 2>&1 && break
    kill -0 "$dockerd_pid" 2>/dev/null || break
    sleep 0.5
  done
  if ! $DOCKER info >/dev/null 2>&1; then
    # dockerd's last word: its final line, without the time and level prefix.
    reason=$(grep -v 'level=info' "$work/dockerd.log" | tail -n 1 | sed -E 's/^time="[^"]*" level=[a-z]+ msg="([^"]*)".*/\1/' | cut -c1-300 || true)
    kill "$dockerd_pid" 2>/dev/null || true
    dockerd_pid=
    skip "dockerd could not start here (${reason:-no answer within 60 s})"
  fi
fi
# Volumes from before this run: anything else left at the end is this run's (anonymous ones too).
volumes_before=$($DOCKER volume ls -q | sort)
log "engine: $($DOCKER version --format 'Docker {{.Server.Version}}'), $($DOCKER info --format '{{.Driver}}, cgroup v{{.CgroupVersion}}'); $($COMPOSE version --short 2>/dev/null | sed 's/^/compose /')"

# --- helpers ---------------------------------------------------------------------------------------

# A free TCP port on the host: 8080 (the files' default) when free.
free_port() {
  "$node_bin" -e '
    const net = require("node:net");
    const tryPort = (port) => { const s = net.createServer().once("error", () => tryPort(0)).listen(port, "0.0.0.0", () => { console.log(s.address().port); s.close(); }); };
    tryPort(Number(process.argv[1]));' "$1"
}

# http METHOD URL [JSON body] → the body on stdout; fails unless 2xx.
http() {
  local method=$1 url=$2 body=${3:-} status
  local args=(-sS -o "$work/body" -w '%{http_code}' -X "$method" --max-time 20)
  [[ -n $body ]] && args+=(-H 'content-type: application/json' --data-binary "$body")
  status=$(curl "${args[@]}" "$url") || fail "$method $url: no answer"
  [[ $status == 2* ]] || fail "$method $url: HTTP $status $(head -c 400 "$work/body")"
  cat "$work/body"
}
# js JSON EXPRESSION → the expression's value over the parsed JSON `b` (strings bare, the rest as JSON).
js() {
  "$node_bin" -e 'const b = JSON.parse(process.argv[1]); const v = eval(process.argv[2]); process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));' "$1" "$2"
}
# check WHAT EXPECTED COMMAND... → fails unless the command succeeds and prints exactly EXPECTED.
check() {
  local what=$1 expected=$2 actual
  shift 2
  actual=$("$@") || fail "$what: $* failed"
  [[ $actual == "$expected" ]] || fail "$what: expected '$expected', got '$actual'"
  log "ok: $what = ${actual:-(nothing)}"
}

# wait_healthy CONTAINER → milliseconds until its HEALTHCHECK says healthy (fails on unhealthy or exit).
wait_healthy() {
  local id=$1 from status
  from=$(date +%s%N)
  for _ in $(seq 480); do
    status=$($DOCKER inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$id")
    case $status in
      'running healthy') echo $((($(date +%s%N) - from) / 1000000)); return 0 ;;
      'running starting') sleep 0.25 ;;
      *) fail "container $id: $status while waiting for healthy: $($DOCKER inspect -f '{{range .State.Health.Log}}{{.Output}}{{end}}' "$id" | tail -c 300)" ;;
    esac
  done
  fail "container $id not healthy within 120 s"
}
ms_to_s() { printf '%d.%01d s' $(($1 / 1000)) $((($1 % 1000) / 100)); }

