# Sourced by .ci/docker.sh: the stand-in base images (no registry is reachable from CI). For the test only.
# --- 2. stand-in base images -----------------------------------------------------------------------

# The Debian mirror this machine's apt already uses, read through apt itself (both sources formats).
mirror=$(apt-get indextargets --format '$(TARGET_OF) $(REPO_URI) $(RELEASE) $(COMPONENT)' 2>/dev/null |
  awk -v suite="$SUITE" '$1 == "deb" && $3 == suite && $4 == "main" { print $2; exit }')
if [[ -z $mirror ]]; then
  # Another release on the host: any plain suite's mirror carries bookworm as well.
  mirror=$(apt-get indextargets --format '$(TARGET_OF) $(REPO_URI) $(RELEASE) $(COMPONENT)' 2>/dev/null |
    awk '$1 == "deb" && $3 !~ /-/ && $4 == "main" { print $2; exit }')
fi
[[ -n $mirror ]] || fail "no Debian mirror with a main component in this machine's apt sources"

label_of() { $DOCKER image inspect -f "{{index .Config.Labels \"$STANDIN_LABEL\"}}" "$1" 2>/dev/null || true; }

debian_key="recipe $STANDIN_RECIPE: debootstrap --variant=minbase $SUITE $mirror"
if [[ $(label_of debian:bookworm-slim) == "$debian_key" ]]; then
  log "debian:bookworm-slim: the cached stand-in ($debian_key)"
else
  log "debian:bookworm-slim: debootstrap --variant=minbase $SUITE from $mirror"
  t0=$(date +%s)
  rootfs="$work/rootfs"
  debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; fail "debootstrap failed"; }
  # What the official slim image leaves out too: package caches, the apt lists; and this host's names.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
  : >"$rootfs/etc/resolv.conf"
  : >"$rootfs/etc/hostname"
  tar --numeric-owner -C "$rootfs" -c . | $DOCKER import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'CMD ["bash"]' \
    -c "LABEL $STANDIN_LABEL=\"$debian_key\"" \
    - debian:bookworm-slim >/dev/null
  grep -q " $rootfs/" /proc/mounts && fail "debootstrap left file systems mounted under $rootfs"
  rm -rf --one-file-system "$rootfs"
  measure "debootstrap + import of debian:bookworm-slim: $(($(date +%s) - t0)) s"
fi

# node and npm: this machine's, where the official image has them (/usr/local).
npm_dir=$(dirname "$(dirname "$npm_cli")")
node_headers=$(dirname "$node_bin")/../include/node
[[ -f $npm_dir/package.json ]] || fail "npm is not where expected: $npm_dir"
[[ -f $node_headers/node_api.h ]] || fail "the Node headers are not next to $node_bin ($node_headers): better-sqlite3 compiles against them"
t0=$(date +%s)
standin="$work/standin"
mkdir -p "$standin"
cp "$node_bin" "$standin/node"
cp -a "$npm_dir" "$standin/npm"
cp -a "$node_headers" "$standin/include-node"
cat >"$standin/slim.Dockerfile" <<EOF
FROM debian:bookworm-slim
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && groupadd --gid 1000 node \\
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
 && node --version && npm --version
ENV NODE_VERSION=${node_version#v}
LABEL $STANDIN_LABEL="node $node_version, npm $npm_version, on debian:bookworm-slim"
CMD ["node"]
EOF
cat >"$standin/build.Dockerfile" <<EOF
FROM node:20-bookworm-slim
RUN apt-get update \\
 && apt-get install -y --no-install-recommends python3 make g++ \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
COPY include-node /usr/local/include/node
# node-gyp uses these headers (no download); better-sqlite3 compiles instead of fetching a prebuilt binary.
# JOBS: node-gyp compiles sqlite3.c and the binding in parallel.
ENV npm_config_nodedir=/usr/local npm_config_build_from_source=better-sqlite3 JOBS=max
LABEL $STANDIN_LABEL="node $node_version with python3, make, g++ and the Node headers"
EOF
# Docker's own cache makes these two a few seconds when nothing changed.
$DOCKER build -q -f "$standin/slim.Dockerfile" -t node:20-bookworm-slim "$standin" >/dev/null ||
  fail "building the node:20-bookworm-slim stand-in failed (docker build -f $standin/slim.Dockerfile)"
$DOCKER build -q -f "$standin/build.Dockerfile" -t node:20-bookworm "$standin" >/dev/null ||
  fail "building the node:20-bookworm stand-in failed"
rm -rf "$standin"
measure "node:20-bookworm-slim and node:20-bookworm stand-ins ($node_version): $(($(date +%s) - t0)) s"
[[ $($DOCKER run --rm --user node node:20-bookworm-slim id -u) == 1000 ]] || fail "the node stand-in has no uid 1000 user node"

