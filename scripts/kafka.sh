#!/usr/bin/env bash
# kafka.sh - a real single-node Apache Kafka broker (KRaft, combined
# broker+controller) on 127.0.0.1 for meshbone's integration tests.
#
# Why this exists: the test machines have Java 17 and Maven but no Docker and
# no internet beyond package registries, so neither testcontainers nor the
# Kafka distribution tarball (downloads.apache.org) can be used. Maven Central
# is reachable, and it publishes every jar the broker needs, so `install`
# resolves org.apache.kafka:kafka_2.13 (+ kafka-tools, + a log4j2 binding) with
# `mvn dependency:copy-dependencies` into a cache directory, and `start` runs
# `java -cp 'libs/*' kafka.Kafka server.properties` directly.
#
# Usage:
#   scripts/kafka.sh install          resolve the jars once into the cache (idempotent)
#   scripts/kafka.sh start            fresh broker; waits until it answers; prints host:port last on stdout
#   scripts/kafka.sh stop             stop it (idempotent)
#   scripts/kafka.sh status           exit 0 iff running and answering a metadata request
#   scripts/kafka.sh run -- CMD...    start, run CMD with MESH_TEST_KAFKA=host:port (and the broker's
#                                     MESH_KAFKA_PID), stop; exits with CMD's status
#   scripts/kafka.sh tool CLASS ARGS  run a Kafka CLI class against the cache, e.g.
#                                     org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:19092 --list
#
# Environment (defaults in brackets):
#   MESH_KAFKA_VERSION [4.3.1]   MESH_KAFKA_CACHE [~/.cache/meshbone/kafka-VERSION]
#   MESH_KAFKA_DIR [/tmp/meshbone-kafka] (run dir: config, data, logs, pid; wiped by start)
#   MESH_KAFKA_PORT [19092] (controller listens on PORT+1)
#   MESH_KAFKA_HEAP [-Xms256m -Xmx1g]   MESH_KAFKA_START_TIMEOUT [90] seconds
set -euo pipefail

# 4.3.1 is the newest 4.x whose whole artifact set is on Central (4.4.0 has no
# kafka-tools jar there). Kafka 4 brokers need Java 17+.
VERSION=${MESH_KAFKA_VERSION:-4.3.1}
LOG4J_VERSION=2.25.4 # the log4j2 version kafka-server 4.3.x depends on
CACHE=${MESH_KAFKA_CACHE:-$HOME/.cache/meshbone/kafka-$VERSION}
DIR=${MESH_KAFKA_DIR:-/tmp/meshbone-kafka}
PORT=${MESH_KAFKA_PORT:-19092}
CONTROLLER_PORT=$((PORT + 1))
HOST=127.0.0.1
ADDR=$HOST:$PORT
START_TIMEOUT=${MESH_KAFKA_START_TIMEOUT:-90}
read -r -a HEAP <<<"${MESH_KAFKA_HEAP:--Xms256m -Xmx1g}"

log() { echo "kafka.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

install() {
  [[ -f $CACHE/.installed ]] && return 0
  command -v java >/dev/null || die "java (17+) not found"
  command -v mvn >/dev/null || die "mvn not found"
  log "installing Kafka $VERSION from Maven Central into $CACHE (first time only)"
  mkdir -p "$CACHE"
  rm -rf "$CACHE/libs.tmp"
  # kafka-tools drags in connect-runtime (jetty, jersey, ...): not needed for
  # TopicCommand / console producer+consumer, so it is excluded.
  cat >"$CACHE/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.meshbone</groupId>
  <artifactId>kafka-broker-deps</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$VERSION</version>
      <exclusions><exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion></exclusions>
    </dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
  if ! mvn -B -ntp -f "$CACHE/pom.xml" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$CACHE/libs.tmp" >"$CACHE/install.log" 2>&1; then
    tail -n 30 "$CACHE/install.log" >&2
    die "maven could not resolve Kafka $VERSION (full log: $CACHE/install.log)"
  fi
  rm -rf "$CACHE/libs"
  mv "$CACHE/libs.tmp" "$CACHE/libs"
  touch "$CACHE/.installed"
  log "installed $(find "$CACHE/libs" -name '*.jar' | wc -l) jars"
}

# tool CLASS ARGS...: run a Kafka command-line class, logging warnings to
# stderr; killed after $TOOL_TIMEOUT seconds if that is set.
tool() {
  install
  [[ -f $CACHE/tools-log4j2.properties ]] || cat >"$CACHE/tools-log4j2.properties" <<'EOF'
appender.err.type = Console
appender.err.name = err
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = err
EOF
  local limit=()
  [[ -n ${TOOL_TIMEOUT:-} ]] && limit=(timeout "$TOOL_TIMEOUT")
  "${limit[@]}" java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dlog4j2.configurationFile="$CACHE/tools-log4j2.properties" \
    -cp "$CACHE/libs/*" "$@"
}

pid() { [[ -f $DIR/kafka.pid ]] && cat "$DIR/kafka.pid"; }

# alive: the pid in the pid file is a running kafka.Kafka of this run dir
# (guards against signalling a recycled pid).
alive() {
  local p cmdline
  p=$(pid) || return 1
  cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || return 1
  [[ $cmdline == *"kafka.Kafka $DIR/server.properties"* ]]
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# answering: a real metadata round trip through the AdminClient.
answering() {
  TOOL_TIMEOUT=30 tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$ADDR" \
    --command-config "$DIR/admin.properties" --list >/dev/null
}

stop() {
  if alive; then
    local p i
    p=$(pid)
    log "stopping broker (pid $p)"
    kill -TERM "$p" 2>/dev/null || true
    for ((i = 0; i < 60; i++)); do # a clean shutdown takes a few seconds
      alive || break
      sleep 0.5
    done
    if alive; then
      log "broker ignored SIGTERM for 30s; sending SIGKILL"
      kill -KILL "$p" 2>/dev/null || true
      for ((i = 0; i < 20; i++)); do alive || break; sleep 0.5; done
    fi
  fi
  rm -f "$DIR/kafka.pid"
}

fail_start() {
  log "error: $*; last lines of $DIR/server.log:"
  tail -n 40 "$DIR/server.log" "$DIR/kafka.out" >&2 2>/dev/null || true
  stop
  exit 1
}

# cluster_id: 16 random bytes, base64url without padding (Kafka's Uuid format),
# never starting with '-' (the first character is 6 whole bits, so any
# replacement is still a valid id).
cluster_id() {
  local id
  id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
  [[ $id == [-_]* ]] && id=A${id:1}
  echo "$id"
}

start() {
  install
  stop
  port_open "$PORT" && die "something else already listens on $ADDR (set MESH_KAFKA_PORT)"
  port_open "$CONTROLLER_PORT" && die "something else already listens on $HOST:$CONTROLLER_PORT"
  case $DIR in / | "$HOME" | "") die "refusing to wipe MESH_KAFKA_DIR=$DIR" ;; esac
  rm -rf "$DIR"
  mkdir -p "$DIR/data"

  cat >"$DIR/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DIR/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
# internal topics: one replica, one partition (fast coordinator start-up)
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
num.network.threads=2
num.io.threads=4
EOF
  cat >"$DIR/log4j2.properties" <<EOF
appender.file.type = File
appender.file.name = file
appender.file.fileName = $DIR/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
  printf 'request.timeout.ms=5000\ndefault.api.timeout.ms=10000\n' >"$DIR/admin.properties"

  log "formatting KRaft storage in $DIR/data"
  tool kafka.tools.StorageTool format --config "$DIR/server.properties" \
    --cluster-id "$(cluster_id)" --ignore-formatted >"$DIR/format.out" 2>&1 ||
    { cat "$DIR/format.out" >&2; die "storage format failed"; }

  log "starting Kafka $VERSION on $ADDR (controller $HOST:$CONTROLLER_PORT), logs in $DIR"
  java "${HEAP[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$DIR/log4j2.properties" -Dkafka.logs.dir="$DIR" \
    -cp "$CACHE/libs/*" kafka.Kafka "$DIR/server.properties" \
    </dev/null >"$DIR/kafka.out" 2>&1 &
  echo $! >"$DIR/kafka.pid"

  local deadline=$((SECONDS + START_TIMEOUT))
  until port_open "$PORT" && answering 2>>"$DIR/probe.err"; do
    # kill -0, not alive: until the forked shell has exec'd java, the pid's
    # command line is still bash's.
    kill -0 "$(pid)" 2>/dev/null || fail_start "broker exited during start-up"
    ((SECONDS < deadline)) || fail_start "broker did not answer within ${START_TIMEOUT}s"
    sleep 0.5
  done
  log "broker is up (pid $(pid))"
}

cmd=${1:-}
[[ $# -gt 0 ]] && shift
case $cmd in
  install) install ;;
  start)
    start # not in an && list: that would switch off set -e inside start
    echo "$ADDR"
    ;;
  stop) stop ;;
  status) alive && answering ;;
  tool) tool "$@" ;;
  run)
    [[ ${1:-} == -- ]] && shift
    [[ $# -gt 0 ]] || die "usage: $0 run -- CMD [ARGS...]"
    trap stop EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    start
    export MESH_TEST_KAFKA=$ADDR MESH_KAFKA_PID=$(pid)
    status=0
    "$@" || status=$?
    exit "$status"
    ;;
  *)
    sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0" >&2
    exit 2
    ;;
esac
