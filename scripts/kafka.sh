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
# A cluster for the fault tests: N combined broker+controller KRaft nodes on
# loopback, replication factor 3, min.insync.replicas=2, the offsets and
# transaction topics replicated 3. Each node also has a SASL_PLAINTEXT
# listener (SCRAM-SHA-512) under the StandardAuthorizer, with the super user
# admin / admin-secret, allow.everyone.if.no.acl.found=false (a SASL client
# gets what its ACLs allow, nothing more); PLAINTEXT clients are ANONYMOUS,
# also a super user.
#   scripts/kafka.sh cluster start [N]        fresh cluster of N nodes [3]; prints the bootstrap addresses last
#   scripts/kafka.sh cluster stop             stop every node (idempotent)
#   scripts/kafka.sh cluster status           exit 0 iff every node runs and the metadata lists them all
#   scripts/kafka.sh cluster kill I           kill -9 node I (its node.id is I)
#   scripts/kafka.sh cluster restart I        start node I again on its data (if it is not running); waits until it is listed again
#   scripts/kafka.sh cluster run [N] -- CMD   start, run CMD with MESH_TEST_KAFKA (every node),
#                                             MESH_TEST_KAFKA_SASL, MESH_CLUSTER_NODES and
#                                             MESH_CLUSTER_SCRIPT (this script's path), stop
#
# Environment (defaults in brackets):
#   MESH_KAFKA_VERSION [4.3.1]   MESH_KAFKA_CACHE [~/.cache/meshbone/kafka-VERSION]
#   MESH_KAFKA_DIR [/tmp/meshbone-kafka] (run dir: config, data, logs, pid; wiped by start)
#   MESH_KAFKA_PORT [19092] (controller listens on PORT+1)
#   MESH_KAFKA_HEAP [-Xms256m -Xmx1g]   MESH_KAFKA_START_TIMEOUT [90] seconds
#   MESH_CLUSTER_DIR [/tmp/meshbone-cluster] (node I in node-I; wiped by cluster start)
#   MESH_CLUSTER_PORT [19592] (node I: PLAINTEXT PORT+10(I-1), controller +1, SASL_PLAINTEXT +2)
#   MESH_CLUSTER_HEAP [-Xms128m -Xmx384m] per node
#   MESH_CLUSTER_RESTART_TIMEOUT [300] seconds (a node killed with kill -9 recovers its logs first)
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
CLUSTER_DIR=${MESH_CLUSTER_DIR:-/tmp/meshbone-cluster}
CLUSTER_PORT=${MESH_CLUSTER_PORT:-19592}
SCRAM_USER=admin
SCRAM_PASSWORD=admin-secret
# The node start configures: the single broker's, or (use_node) a cluster node's.
NODE_ID=1
SASL_PORT=
VOTERS=1@$HOST:$CONTROLLER_PORT

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

# write_config: server.properties, log4j2.properties and admin.properties of
# the node in $DIR. With $SASL_PORT set it is a cluster node.
write_config() {
  if [[ -z $SASL_PORT ]]; then
    cat >"$DIR/server.properties" <<EOF
process.roles=broker,controller
node.id=$NODE_ID
controller.quorum.voters=$VOTERS
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
# The authorizer runs, so ACLs can be created and listed (the registrar's
# access agreements); every client is ANONYMOUS on this listener and a super
# user, so nothing is refused.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS
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
  else
    cat >"$DIR/server.properties" <<EOF
process.roles=broker,controller
node.id=$NODE_ID
controller.quorum.voters=$VOTERS
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT,SASL_PLAINTEXT://$HOST:$SASL_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT,SASL_PLAINTEXT://$HOST:$SASL_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
# PLAINTEXT and controller connections are ANONYMOUS: the tests and the
# brokers themselves are trusted; SASL clients get what their ACLs allow,
# and nothing where no ACL matches (Kafka's default, stated: the ACL tests
# rely on it).
super.users=User:ANONYMOUS;User:$SCRAM_USER
allow.everyone.if.no.acl.found=false
log.dirs=$DIR/data
num.partitions=3
default.replication.factor=3
min.insync.replicas=2
unclean.leader.election.enable=false
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
offsets.topic.replication.factor=3
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
num.network.threads=2
num.io.threads=2
num.replica.fetchers=1
background.threads=2
log.cleaner.threads=1
EOF
  fi
  cat >"$DIR/log4j2.properties" <<EOF
appender.file.type = File
appender.file.name = file
appender.file.fileName = $DIR/server.log
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
  printf 'request.timeout.ms=5000\ndefault.api.timeout.ms=10000\n' >"$DIR/admin.properties"
}

# format ID [scram]: format the node's KRaft storage with cluster id ID, with
# the SCRAM user when asked.
format() {
  local scram=()
  [[ -n ${2:-} ]] && scram=(--add-scram "SCRAM-SHA-512=[name=$SCRAM_USER,password=$SCRAM_PASSWORD]")
  log "formatting KRaft storage in $DIR/data"
  tool kafka.tools.StorageTool format --config "$DIR/server.properties" \
    --cluster-id "$1" --ignore-formatted "${scram[@]}" >"$DIR/format.out" 2>&1 ||
    { cat "$DIR/format.out" >&2; die "storage format failed"; }
}

# launch: start the node of $DIR in the background, its pid in kafka.pid.
launch() {
  log "starting Kafka $VERSION node $NODE_ID on $ADDR (controller $HOST:$CONTROLLER_PORT), logs in $DIR"
  java "${HEAP[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$DIR/log4j2.properties" -Dkafka.logs.dir="$DIR" \
    -cp "$CACHE/libs/*" kafka.Kafka "$DIR/server.properties" \
    </dev/null >>"$DIR/kafka.out" 2>&1 &
  echo $! >"$DIR/kafka.pid"
  disown # a node killed by the fault tests is not this shell's news
}

start() {
  install
  stop
  port_open "$PORT" && die "something else already listens on $ADDR (set MESH_KAFKA_PORT)"
  port_open "$CONTROLLER_PORT" && die "something else already listens on $HOST:$CONTROLLER_PORT"
  case $DIR in / | "$HOME" | "") die "refusing to wipe MESH_KAFKA_DIR=$DIR" ;; esac
  rm -rf "$DIR"
  mkdir -p "$DIR/data"
  write_config
  format "$(cluster_id)"
  launch

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

# --- cluster mode ---

NODES_FILE=$CLUSTER_DIR/nodes

# cluster_nodes: how many nodes the cluster has (as cluster start made it).
cluster_nodes() { if [[ -f $NODES_FILE ]]; then cat "$NODES_FILE"; else echo 0; fi; }

# use_node I: point DIR, the ports and NODE_ID at cluster node I.
use_node() {
  local n
  n=$(cluster_nodes)
  [[ $1 =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= n)) || die "no node $1 in a cluster of $n"
  NODE_ID=$1
  DIR=$CLUSTER_DIR/node-$1
  PORT=$((CLUSTER_PORT + 10 * ($1 - 1)))
  CONTROLLER_PORT=$((PORT + 1))
  SASL_PORT=$((PORT + 2))
  ADDR=$HOST:$PORT
  read -r -a HEAP <<<"${MESH_CLUSTER_HEAP:--Xms128m -Xmx384m}"
}

# cluster_addrs [sasl]: the comma-separated PLAINTEXT (or SASL) addresses.
cluster_addrs() {
  local i n off=0 out=()
  n=$(cluster_nodes)
  [[ -n ${1:-} ]] && off=2
  for ((i = 1; i <= n; i++)); do out+=("$HOST:$((CLUSTER_PORT + 10 * (i - 1) + off))"); done
  (IFS=,; echo "${out[*]}")
}

# cluster_brokers_up: how many brokers the cluster's metadata lists (a
# fenced or dead broker is not listed).
cluster_brokers_up() {
  TOOL_TIMEOUT=30 tool org.apache.kafka.tools.BrokerApiVersionsCommand \
    --bootstrap-server "$(cluster_addrs)" --command-config "$CLUSTER_DIR/admin.properties" 2>/dev/null |
    grep -c '(id: [0-9]* rack' || true
}

# cluster_wait_brokers N: until the metadata lists N brokers; 1 on timeout.
cluster_wait_brokers() {
  local deadline=$((SECONDS + START_TIMEOUT)) up
  while :; do
    up=$(cluster_brokers_up)
    ((up >= $1)) && return 0
    ((SECONDS < deadline)) || return 1
    sleep 1
  done
}

# wait_port: until the node's broker port opens; fails the start if the node
# dies or the start timeout passes.
wait_port() {
  local deadline=$((SECONDS + START_TIMEOUT))
  until port_open "$PORT"; do
    kill -0 "$(pid)" 2>/dev/null || cluster_fail "node $NODE_ID exited during start-up"
    ((SECONDS < deadline)) || cluster_fail "node $NODE_ID did not listen within ${START_TIMEOUT}s"
    sleep 0.5
  done
}

cluster_stop() {
  local n i p left pids=()
  n=$(cluster_nodes)
  for ((i = 1; i <= n; i++)); do
    use_node "$i"
    if alive; then
      p=$(pid)
      pids+=("$p")
      log "stopping node $i (pid $p)"
      kill -TERM "$p" 2>/dev/null || true
    fi
  done
  # Nodes stopping together lose their quorum and may wait for it: 20 s,
  # then SIGKILL (the next start wipes the data anyway).
  for ((i = 0; i < 40 && ${#pids[@]} > 0; i++)); do
    left=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && left=1; done
    ((left)) || break
    sleep 0.5
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for ((i = 1; i <= n; i++)); do rm -f "$CLUSTER_DIR/node-$i/kafka.pid"; done
}

cluster_fail() {
  log "error: $*; last lines of the nodes' logs:"
  local i
  for ((i = 1; i <= $(cluster_nodes); i++)); do
    tail -n 20 "$CLUSTER_DIR/node-$i/server.log" "$CLUSTER_DIR/node-$i/kafka.out" >&2 2>/dev/null || true
  done
  cluster_stop
  exit 1
}

cluster_start() {
  local n=${1:-3} i p id voters=()
  [[ $n =~ ^[0-9]+$ ]] && ((n >= 1 && n <= 9)) || die "a cluster has 1 to 9 nodes, not $n"
  install
  cluster_stop
  case $CLUSTER_DIR in / | "$HOME" | "") die "refusing to wipe MESH_CLUSTER_DIR=$CLUSTER_DIR" ;; esac
  rm -rf "$CLUSTER_DIR"
  mkdir -p "$CLUSTER_DIR"
  echo "$n" >"$NODES_FILE"
  printf 'request.timeout.ms=5000\ndefault.api.timeout.ms=10000\n' >"$CLUSTER_DIR/admin.properties"
  for ((i = 1; i <= n; i++)); do
    use_node "$i"
    for p in "$PORT" "$CONTROLLER_PORT" "$SASL_PORT"; do
      port_open "$p" && die "something else already listens on $HOST:$p (set MESH_CLUSTER_PORT)"
    done
    voters+=("$i@$HOST:$CONTROLLER_PORT")
  done
  VOTERS=$(IFS=,; echo "${voters[*]}")
  id=$(cluster_id)
  for ((i = 1; i <= n; i++)); do
    use_node "$i"
    mkdir -p "$DIR/data"
    write_config
    format "$id" scram
  done
  for ((i = 1; i <= n; i++)); do use_node "$i"; launch; done
  for ((i = 1; i <= n; i++)); do use_node "$i"; wait_port; done
  cluster_wait_brokers "$n" || cluster_fail "the cluster did not list $n brokers within ${START_TIMEOUT}s"
  log "cluster of $n nodes is up: $(cluster_addrs)"
}

cluster_kill() {
  local p i
  use_node "$1"
  alive || die "node $1 is not running"
  p=$(pid)
  log "kill -9 node $1 (pid $p)"
  kill -KILL "$p"
  for ((i = 0; i < 40; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
  rm -f "$DIR/kafka.pid"
}

# cluster_wait_node I: until the metadata lists node I; 1 on timeout.
cluster_wait_node() {
  local deadline=$((SECONDS + START_TIMEOUT))
  until TOOL_TIMEOUT=30 tool org.apache.kafka.tools.BrokerApiVersionsCommand \
    --bootstrap-server "$(cluster_addrs)" --command-config "$CLUSTER_DIR/admin.properties" 2>/dev/null |
    grep -q "(id: $1 rack"; do
    ((SECONDS < deadline)) || return 1
    sleep 1
  done
}

# cluster_restart I: start node I again on its data (unless it runs) and
# wait until the cluster lists it; other nodes may still be down.
cluster_restart() {
  use_node "$1"
  START_TIMEOUT=${MESH_CLUSTER_RESTART_TIMEOUT:-300}
  if ! alive; then
    port_open "$PORT" && die "something else listens on $ADDR"
    launch
  fi
  local deadline=$((SECONDS + START_TIMEOUT))
  until port_open "$PORT"; do
    kill -0 "$(pid)" 2>/dev/null || die "node $1 exited during start-up (see $DIR/server.log)"
    ((SECONDS < deadline)) || die "node $1 did not listen within ${START_TIMEOUT}s"
    sleep 0.5
  done
  cluster_wait_node "$1" || die "node $1 did not rejoin within ${START_TIMEOUT}s"
  log "node $1 is back (pid $(pid))"
}

cluster_status() {
  local n i
  n=$(cluster_nodes)
  ((n > 0)) || return 1
  for ((i = 1; i <= n; i++)); do
    use_node "$i"
    alive || { log "node $i is not running"; return 1; }
  done
  (($(cluster_brokers_up) == n))
}

cluster() {
  local sub=${1:-}
  [[ $# -gt 0 ]] && shift
  case $sub in
    start)
      cluster_start "$@"
      cluster_addrs
      ;;
    stop) cluster_stop ;;
    status) cluster_status ;;
    kill) cluster_kill "${1:?usage: cluster kill I}" ;;
    restart) cluster_restart "${1:?usage: cluster restart I}" ;;
    run)
      local n=3 status=0
      [[ ${1:-} =~ ^[0-9]+$ ]] && { n=$1; shift; }
      [[ ${1:-} == -- ]] && shift
      [[ $# -gt 0 ]] || die "usage: $0 cluster run [N] -- CMD [ARGS...]"
      trap cluster_stop EXIT
      trap 'exit 130' INT
      trap 'exit 143' TERM
      cluster_start "$n"
      MESH_TEST_KAFKA=$(cluster_addrs)
      MESH_TEST_KAFKA_SASL=$(cluster_addrs sasl)
      MESH_CLUSTER_NODES=$n
      MESH_CLUSTER_SCRIPT=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
      export MESH_TEST_KAFKA MESH_TEST_KAFKA_SASL MESH_CLUSTER_NODES MESH_CLUSTER_SCRIPT
      "$@" || status=$?
      exit "$status"
      ;;
    *) die "usage: $0 cluster start [N] | stop | status | kill I | restart I | run [N] -- CMD" ;;
  esac
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
  cluster) cluster "$@" ;;
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
