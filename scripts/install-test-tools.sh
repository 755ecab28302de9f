#!/usr/bin/env bash
# Installs the Debian packages the tests drive, only those that are missing: on a machine without
# them `npm test` still passes, but the tests that need them skip (its last line names them and
# this script). Run it as root, or as a user with sudo: `sudo scripts/install-test-tools.sh`.
# .ci/run runs it before `npm test`. It calls apt-get only when something is missing, so a second
# run does nothing. `--check` only lists what is missing (exit 1 if anything is).
set -euo pipefail

check_only=0
case "${1:-}" in
  '') ;;
  --check) check_only=1 ;;
  -h | --help)
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "usage: $0 [--check]" >&2
    exit 2
    ;;
esac

# Daemons such as nats-server and syslog-ng live in /usr/sbin, which a user's PATH may lack: look
# there too, so that an installed package is not installed again.
have_command() { PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v "$1" >/dev/null 2>&1; }
have_commands() {
  local command
  for command in "$@"; do have_command "$command" || return 1; done
}
have_package() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == 'install ok installed' ]]; }

missing=()
# need PACKAGE how-to-tell-it-is-there...: PACKAGE is missing when the check fails.
need() {
  local package=$1
  shift
  "$@" || missing+=("$package")
}

# test/dashboard-browser.test.ts drives Debian's Chromium at /usr/bin/chromium through
# playwright-core, which downloads no browser (test/support/browser.ts).
need chromium test -x /usr/bin/chromium
# test/bench.test.ts runs bench/run.ts --quick, whose HTTP scenarios drive wrk (bench/lib/wrk.ts).
need wrk have_command wrk
# The cluster tests (test/cluster*.test.ts, nats-cluster-harness, search-lifecycle, deploy) start
# real nats-server processes (Debian's 2.9.10; harness/nats-cluster.ts).
need nats-server have_command nats-server
# test/syslog-ng.test.ts ships a file through syslog-ng's own elasticsearch-http() destination:
# the daemon, its http module and the SCL that defines elasticsearch-http().
for package in syslog-ng-core syslog-ng-mod-http syslog-ng-scl; do
  need "$package" have_package "$package"
done
# test/power-loss.test.ts and test/disk-faults.test.ts mount lazyfs (harness/lazyfs/), a FUSE file
# system in Python: Debian's pyfuse3 (and trio) for /usr/bin/python3, and fuse3's fusermount3.
need fuse3 have_command fusermount3
need python3-pyfuse3 have_package python3-pyfuse3
# test/prometheus.test.ts scrapes /metrics with a real Prometheus and checks the rules with promtool.
need prometheus have_commands prometheus promtool
# The TLS tests make their certificates with openssl; curl is the plain HTTPS client for them (and
# the README's examples).
need openssl have_command openssl
need curl have_command curl
# test/cluster-partition.test.ts cuts the network between nodes with `ip netns` and ifb devices
# (test/support/netns.ts).
need iproute2 have_command ip
# test/faults.test.ts turns a loop-mounted ext4 read-only under the server (mkfs.ext4, e2fsck).
need e2fsprogs have_command mkfs.ext4

if ((${#missing[@]} == 0)); then
  echo "install-test-tools: every tool the tests drive is installed; nothing to do"
  exit 0
fi
echo "install-test-tools: missing: ${missing[*]}"
if ((check_only)); then
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-tools: no apt-get here (not Debian or Ubuntu): install the equivalents of: ${missing[*]}" >&2
  exit 1
fi
as_root=()
if (($(id -u) != 0)); then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-test-tools: installing packages needs root, and there is no sudo: run this as root" >&2
    exit 1
  fi
  as_root=(sudo)
fi
${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get update
${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
echo "install-test-tools: installed ${missing[*]}"

# Debian puts nats-server and syslog-ng in /usr/sbin: the tests look them up on PATH.
for command in nats-server syslog-ng; do
  if ! command -v "$command" >/dev/null 2>&1 && have_command "$command"; then
    echo "install-test-tools: note: $command is in $(dirname "$(PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v "$command")"), which is not on this PATH; the tests need it there"
  fi
done
