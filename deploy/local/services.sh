#!/usr/bin/env bash
# Installs (Debian packages) and starts what paystream needs on one machine: Redis and ClickHouse.
# With --test-tools also the tools the test suite uses (promtool, chromium).
# Idempotent: anything already installed or already answering is left alone. Needs root for apt-get.
set -euo pipefail

log() { printf '[services] %s\n' "$*" >&2; }

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
{ [ -x /usr/sbin/clickhouse-server ] || [ -x /usr/bin/clickhouse-server ]; } || need+=(clickhouse-server)
command -v clickhouse-client >/dev/null 2>&1 || need+=(clickhouse-client)
# --test-tools: what only the test suite needs (promtool validates deploy/monitoring; the hosted
# checkout's browser test drives Debian's chromium).
if [ "${1:-}" = "--test-tools" ]; then
  command -v promtool >/dev/null 2>&1 || need+=(prometheus)
  command -v chromium >/dev/null || need+=(chromium)
fi
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

REDIS_PORT=${PAYSTREAM_SETUP_REDIS_PORT:-6379}
if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  log "redis already answering on 127.0.0.1:$REDIS_PORT"
else
  log "starting redis on 127.0.0.1:$REDIS_PORT"
  install -d /var/lib/redis /var/log/redis
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "/var/run/redis-$REDIS_PORT.pid" --logfile "/var/log/redis/redis-$REDIS_PORT.log" --dir /var/lib/redis
  for _ in $(seq 1 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$REDIS_PORT" ping >/dev/null
fi

if curl -sf http://127.0.0.1:8123/ping >/dev/null 2>&1; then
  log "clickhouse already answering on 127.0.0.1:8123/9000"
else
  log "starting clickhouse-server"
  install -d -o clickhouse -g clickhouse /var/run/clickhouse-server
  runuser -u clickhouse -- /usr/sbin/clickhouse-server --config-file=/etc/clickhouse-server/config.xml \
    --daemon --pid-file=/var/run/clickhouse-server/clickhouse-server.pid
  for _ in $(seq 1 300); do curl -sf http://127.0.0.1:8123/ping >/dev/null 2>&1 && break; sleep 0.1; done
  curl -sf http://127.0.0.1:8123/ping >/dev/null || { log "clickhouse did not start; see /var/log/clickhouse-server/"; exit 1; }
fi
log "redis and clickhouse are up"
