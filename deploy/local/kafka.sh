#!/usr/bin/env bash
# A real Apache Kafka (KRaft, no ZooKeeper) on this machine's loopback, for tests and for trying
# paystream's roles against the broker production runs:
#
#   deploy/local/kafka.sh start  [--brokers 1|3] [--dir DIR]   # last line: the bootstrap list
#   deploy/local/kafka.sh status [--dir DIR]
#   deploy/local/kafka.sh stop   [--dir DIR]
#
# start fetches the pinned broker through Maven (deploy/local/kafka/pom.xml, Maven Central only) into
# a cache outside the repository (PAYSTREAM_KAFKA_CACHE, default ~/.cache/paystream), installs a JRE
# and Maven with apt-get when they are missing, formats KRaft storage, starts one broker or three
# (each node is broker and controller: a three-voter quorum) on free 127.0.0.1 ports, waits until
# every node is serving, and prints `127.0.0.1:PORT[,127.0.0.1:PORT...]` as its last line: use it
# as PAYSTREAM_KAFKA_BROKERS. Config, data, logs and pid files live in DIR (default
# .paystream/kafka-real in the repository, ignored by git). start is idempotent: on a DIR whose nodes
# all run it prints the list again; nodes of DIR that are down (killed) are started again with their
# data and ports, which is how a test restarts one broker it killed (`start --dir DIR`; without
# --brokers, start takes DIR's node count). A fresh cluster: stop, then
# remove DIR. stop ends only the processes whose pid files are in DIR, after checking that each is
# still the java process running DIR's config; status says which run.
#
# Environment: PAYSTREAM_KAFKA_HEAP (default 384m; the JVM's -Xmx per node),
# PAYSTREAM_KAFKA_START_TIMEOUT (seconds, default 120), PAYSTREAM_KAFKA_CACHE.
set -euo pipefail

KAFKA_VERSION=4.1.1 # also in deploy/local/kafka/pom.xml
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
POM="$ROOT/deploy/local/kafka/pom.xml"
CACHE="${PAYSTREAM_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/paystream}"
LIB="$CACHE/kafka-$KAFKA_VERSION/lib"
HEAP="${PAYSTREAM_KAFKA_HEAP:-384m}"
START_TIMEOUT="${PAYSTREAM_KAFKA_START_TIMEOUT:-120}"

log() { printf '[kafka] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
usage() { die "usage: $0 start [--brokers 1|3] [--dir DIR] | stop [--dir DIR] | status [--dir DIR]"; }

cmd="${1:-}"
[ -n "$cmd" ] || usage
shift
brokers=""
dir="$ROOT/.paystream/kafka-real"
while [ $# -gt 0 ]; do
  case "$1" in
    --brokers) [ $# -ge 2 ] || usage; brokers="$2"; shift 2 ;;
    --brokers=*) brokers="${1#*=}"; shift ;;
    --dir) [ $# -ge 2 ] || usage; dir="$2"; shift 2 ;;
    --dir=*) dir="${1#*=}"; shift ;;
    *) usage ;;
  esac
done
case "$brokers" in ""|1|3) ;; *) die "--brokers must be 1 or 3, not $brokers" ;; esac
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)" # absolute: it is in every node's command line, which stop checks

# --- what a started cluster records in DIR ---------------------------------------------------
# DIR/cluster.env: NODES, CLUSTER_ID, PORTS (client), CPORTS (controller); DIR/node-N/{server.properties,
# log4j2.properties, data/, server.log, pid}.

bootstrap() { # the client list of DIR's nodes
  local out="" p
  for p in $PORTS; do out="${out:+$out,}127.0.0.1:$p"; done
  printf '%s\n' "$out"
}

# node_pid N prints node N's pid if that process is alive and is the java running DIR's node-N config.
node_pid() {
  local pf="$dir/node-$1/pid" pid
  [ -f "$pf" ] || return 1
  pid="$(cat "$pf")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  local cl
  cl="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cl" == *java* && "$cl" == *kafka.Kafka* && "$cl" == *"$dir/node-$1/server.properties"* ]] || return 1
  printf '%s\n' "$pid"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_ports N prints N distinct ports nothing listens on, at random below the kernel's ephemeral
# range (an outgoing connection's local port, e.g. one node dialling another, would take it).
free_ports() {
  local want=$1 got=() p tries=0 lo=32768 hi
  read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  hi=$((lo - 1)) lo=10000
  [ "$hi" -gt $((lo + 1000)) ] || die "the ephemeral port range leaves no room below it for the brokers' ports"
  while [ ${#got[@]} -lt "$want" ]; do
    tries=$((tries + 1))
    [ $tries -lt 1000 ] || die "no free port found on 127.0.0.1"
    p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo)))
    [[ " ${got[*]} " == *" $p "* ]] && continue
    port_in_use "$p" && continue
    got+=("$p")
  done
  printf '%s\n' "${got[*]}"
}

ensure_tools() {
  local need=()
  command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
  command -v mvn >/dev/null 2>&1 || need+=(maven)
  if [ ${#need[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "needs ${need[*]} (apt-get install -y ${need[*]}, as root)"
    log "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  local jv
  jv="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)"
  [ "${jv:-0}" -ge 17 ] || die "Kafka $KAFKA_VERSION needs Java 17 or later; java -version says ${jv:-nothing}"
}

fetch() {
  [ -f "$LIB/.complete" ] && return 0
  ensure_tools
  log "fetching Apache Kafka $KAFKA_VERSION through Maven into $LIB (once)"
  local tmp="$LIB.tmp.$$" t0=$SECONDS
  rm -rf "$tmp"
  mkdir -p "$tmp"
  if ! mvn -q -B -f "$POM" dependency:copy-dependencies -Dkafka.version="$KAFKA_VERSION" \
    -DoutputDirectory="$tmp" >"$tmp.log" 2>&1; then
    tail -30 "$tmp.log" >&2
    rm -rf "$tmp"
    die "fetching Kafka through Maven failed (is Maven Central reachable?)"
  fi
  rm -f "$tmp.log"
  ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null || die "Maven fetched no kafka_2.13-$KAFKA_VERSION.jar"
  touch "$tmp/.complete"
  rm -rf "$LIB"
  mv "$tmp" "$LIB"
  log "fetched in $((SECONDS - t0)) s"
}

write_config() { # N: writes DIR/node-N's config for a cluster of NODES
  local n=$1 nd="$dir/node-$1" voters="" i=1 p c rf=$NODES
  for c in $CPORTS; do voters="${voters:+$voters,}$i@127.0.0.1:$c"; i=$((i + 1)); done
  p="$(echo "$PORTS" | cut -d' ' -f"$n")"
  c="$(echo "$CPORTS" | cut -d' ' -f"$n")"
  local isr=1
  [ "$rf" -ge 3 ] && isr=2
  mkdir -p "$nd/data"
  cat >"$nd/server.properties" <<EOF
# Written by deploy/local/kafka.sh: node $n of a $NODES-node local KRaft cluster (broker + controller).
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$p,CONTROLLER://127.0.0.1:$c
advertised.listeners=PLAINTEXT://127.0.0.1:$p
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$nd/data
# paystream creates its own topics (pipeline/bus.EnsureTopics); nothing else should.
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=$rf
min.insync.replicas=$isr
unclean.leader.election.enable=false
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
transaction.state.log.num.partitions=12
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
# A new group's first join waits this long for more members (Kafka's default 3 s): tests start
# their members together, so do not wait.
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
background.threads=4
log.cleaner.threads=1
EOF
  cat >"$nd/log4j2.properties" <<EOF
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
}

format_node() {
  local n=$1 nd="$dir/node-$1"
  [ -f "$nd/data/meta.properties" ] && return 0
  java -Xmx256m -cp "$LIB/*" -Dlog4j2.configurationFile="$nd/log4j2.properties" \
    kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$nd/server.properties" >"$nd/format.log" 2>&1 ||
    { cat "$nd/format.log" >&2; die "formatting KRaft storage of node $n failed"; }
}

start_node() {
  local n=$1 nd="$dir/node-$1"
  local p
  p="$(echo "$PORTS" | cut -d' ' -f"$n")"
  # A node restarted right after a kill -9 may find its port still answering for a moment (seen
  # once in the suite): wait up to 15 s before calling it taken.
  local waited=0
  while port_in_use "$p" && [ $waited -lt 30 ]; do
    sleep 0.5
    waited=$((waited + 1))
  done
  port_in_use "$p" && die "node $n's port 127.0.0.1:$p is taken by another process; stop it, or stop this cluster and remove $dir"
  # A fresh log per start, so readiness is judged on this start's lines; the previous one is kept.
  [ -f "$nd/server.log" ] && mv -f "$nd/server.log" "$nd/server.log.1"
  # setsid: the node outlives this script and the terminal; stdin closed, output to its log.
  setsid java -Xms64m -Xmx"$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$nd/log4j2.properties" \
    -cp "$LIB/*" kafka.Kafka "$nd/server.properties" </dev/null >"$nd/server.log" 2>&1 &
  echo $! >"$nd/pid"
}

wait_ready() { # every node: alive, logged "Kafka Server started" (registered and unfenced), port answers
  local deadline=$((SECONDS + START_TIMEOUT)) n p
  for n in $(seq 1 "$NODES"); do
    p="$(echo "$PORTS" | cut -d' ' -f"$n")"
    while :; do
      if ! node_pid "$n" >/dev/null; then
        tail -40 "$dir/node-$n/server.log" >&2 || true
        die "node $n exited during start (log: $dir/node-$n/server.log)"
      fi
      if grep -q 'Kafka Server started' "$dir/node-$n/server.log" 2>/dev/null && port_in_use "$p"; then
        break
      fi
      [ $SECONDS -lt $deadline ] || { tail -40 "$dir/node-$n/server.log" >&2; die "node $n not ready after ${START_TIMEOUT}s (log: $dir/node-$n/server.log)"; }
      sleep 0.2
    done
  done
}

cmd_start() {
  local attempt
  for attempt in 1 2 3; do
    if (start_once); then return 0; fi
    # A fresh cluster whose port was taken between choosing and binding it: new ports, again.
    if [ ! -f "$dir/fresh" ] || ! grep -qs 'Address already in use' "$dir"/node-*/server.log; then
      exit 1
    fi
    log "a port was taken while starting; retrying with other ports ($attempt)"
    cmd_stop >/dev/null 2>&1
    rm -rf "$dir"/node-* "$dir/cluster.env" "$dir/fresh"
  done
  exit 1
}

start_once() {
  if [ -f "$dir/cluster.env" ]; then
    # shellcheck disable=SC1091
    . "$dir/cluster.env"
    # Without --brokers, start means "this directory's cluster" (restarting a killed node).
    [ -z "$brokers" ] || [ "$NODES" = "$brokers" ] || die "$dir holds a $NODES-node cluster, not $brokers: use another --dir, or stop it and remove $dir"
  else
    NODES=${brokers:-1}
    local ports
    ports="$(free_ports $((2 * NODES)))"
    PORTS="$(echo "$ports" | cut -d' ' -f1-"$NODES")"
    CPORTS="$(echo "$ports" | cut -d' ' -f$((NODES + 1))-)"
    CLUSTER_ID=""
  fi
  fetch
  ensure_tools
  if [ -z "$CLUSTER_ID" ]; then
    # A KRaft cluster id is 16 random bytes in URL-safe base64 without padding (22 characters).
    # One starting with '-' is drawn again (as Kafka's own Uuid.randomUuid does): the storage
    # tool's argument parser takes `-t -xyz…` for an option and fails (1 start in 64).
    CLUSTER_ID="-"
    while [[ "$CLUSTER_ID" == -* ]]; do
      CLUSTER_ID="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    done
    printf 'NODES=%s\nCLUSTER_ID=%s\nPORTS="%s"\nCPORTS="%s"\n' "$NODES" "$CLUSTER_ID" "$PORTS" "$CPORTS" >"$dir/cluster.env"
    touch "$dir/fresh" # removed once it served: only a never-started cluster may move ports
  fi
  local t0=$SECONDS started=0 n jobs=()
  for n in $(seq 1 "$NODES"); do
    if node_pid "$n" >/dev/null; then continue; fi
    # Nodes are formatted and started side by side: each is a JVM start of a few seconds.
    (write_config "$n" && format_node "$n" && start_node "$n") &
    jobs+=($!)
    started=$((started + 1))
  done
  for n in ${jobs[@]+"${jobs[@]}"}; do wait "$n" || die "starting the cluster in $dir failed"; done
  if [ $started -gt 0 ]; then
    log "started $started of $NODES node(s) in $dir; waiting until they serve"
  fi
  wait_ready
  rm -f "$dir/fresh"
  if [ $started -gt 0 ]; then log "ready in $((SECONDS - t0)) s"; fi
  bootstrap
}

cmd_status() {
  [ -f "$dir/cluster.env" ] || { log "no cluster in $dir"; return 3; }
  # shellcheck disable=SC1091
  . "$dir/cluster.env"
  local n pid up=0 p
  for n in $(seq 1 "$NODES"); do
    p="$(echo "$PORTS" | cut -d' ' -f"$n")"
    if pid="$(node_pid "$n")"; then
      local rss
      rss="$(awk '/VmRSS/ {print $2 " " $3}' "/proc/$pid/status" 2>/dev/null || true)"
      echo "node $n: running, pid $pid, 127.0.0.1:$p, rss ${rss:-?}"
      up=$((up + 1))
    else
      echo "node $n: stopped (127.0.0.1:$p)"
    fi
  done
  echo "$up of $NODES node(s) running in $dir (Apache Kafka $KAFKA_VERSION)"
  [ $up -eq "$NODES" ] || return 1
  bootstrap
}

cmd_stop() {
  [ -f "$dir/cluster.env" ] || { log "no cluster in $dir"; return 0; }
  # shellcheck disable=SC1091
  . "$dir/cluster.env"
  local n pid nodes=()
  for n in $(seq 1 "$NODES"); do
    if pid="$(node_pid "$n")"; then
      kill -TERM "$pid" 2>/dev/null || true
      nodes+=("$n")
    elif [ -f "$dir/node-$n/pid" ]; then
      log "node $n: pid file $(cat "$dir/node-$n/pid") is not this cluster's java any more; left alone"
    fi
  done
  # A node's controlled shutdown needs the controller quorum (a majority of the nodes); when all
  # stop together the last ones wait for a quorum that is gone. Give them 20 s, or 5 s once the
  # quorum is gone, then kill what is left (its data is recovered at the next start).
  local deadline=$((SECONDS + 20)) alive quorum=$((NODES / 2 + 1)) lost=""
  while :; do
    alive=()
    for n in ${nodes[@]+"${nodes[@]}"}; do
      pid="$(node_pid "$n")" && alive+=("$pid")
    done
    [ ${#alive[@]} -eq 0 ] && break
    if [ -z "$lost" ] && [ ${#alive[@]} -lt $quorum ] && [ ${#nodes[@]} -eq "$NODES" ]; then
      lost=1
      [ $((SECONDS + 5)) -lt $deadline ] && deadline=$((SECONDS + 5))
    fi
    if [ $SECONDS -ge $deadline ]; then
      log "killing ${alive[*]} (did not stop in time; no controller quorum left to shut down with)"
      kill -KILL "${alive[@]}" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  for n in $(seq 1 "$NODES"); do rm -f "$dir/node-$n/pid"; done
  log "stopped ${#nodes[@]} node(s) of $dir (data kept; remove $dir for a fresh cluster)"
}

case "$cmd" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) usage ;;
esac
