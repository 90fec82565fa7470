#!/usr/bin/env bash
# Starts or stops the real services StreamLite needs (PostgreSQL, Redis, the MongoDB stand-in) as plain
# processes on loopback, with their data under one folder.
#   scripts/services.sh start DIR [--postgres]   prints the environment to use them
#   scripts/services.sh stop DIR
set -euo pipefail
cd "$(dirname "$0")/.."
action=$1
dir=$(realpath -m "$2")
with_pg=${3:-}
PG_PORT=${PG_PORT:-55432}
REDIS_PORT=${REDIS_PORT:-6379}
MONGO_PORT=${MONGO_PORT:-27017}
PG_BIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)")

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 400); do
    port_answers "$1" && return 0
    sleep 0.1
  done
  echo "service on port $1 did not start" >&2
  return 1
}

start() {
  mkdir -p "$dir"
  if [ "$with_pg" = "--postgres" ]; then
    if [ ! -d "$dir/pg" ]; then
      mkdir -p "$dir/pg"
      [ "$(id -u)" = 0 ] && chown postgres "$dir/pg" && chmod 755 "$dir"
      as_pg "$PG_BIN/initdb" -D "$dir/pg" -U streamlite --auth=trust -E UTF8 >/dev/null
    fi
    # make run keeps its data (fsync on); make test's throwaway cluster trades durability for speed.
    pg_options="-c listen_addresses=127.0.0.1 -p $PG_PORT -k /tmp"
    [ "${PG_DURABLE:-0}" = 1 ] || pg_options="$pg_options -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    # A server left running on this folder (make run killed hard) is used as it is.
    if ! as_pg "$PG_BIN/pg_ctl" -D "$dir/pg" status >/dev/null 2>&1; then
      as_pg "$PG_BIN/pg_ctl" -D "$dir/pg" -l "$dir/pg/log" -w -o "$pg_options" start >/dev/null
    fi
  fi
  # A service already answering on its port is used as it is (and left running by stop): a second
  # start could not bind the port anyway.
  if port_answers "$REDIS_PORT"; then
    echo "redis: port $REDIS_PORT already answers, using it" >&2
  else
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
      --dir "$dir" --logfile "$dir/redis.log" --pidfile "$dir/redis.pid"
  fi
  if port_answers "$MONGO_PORT"; then
    echo "mongo: port $MONGO_PORT already answers, using it" >&2
  else
    nohup .venv/bin/secantusd-py --host 127.0.0.1 --port "$MONGO_PORT" --storage-path "$dir/mongo" \
      --log-level WARNING >"$dir/mongo.log" 2>&1 &
    echo $! >"$dir/mongo.pid"
  fi
  wait_port "$REDIS_PORT"
  wait_port "$MONGO_PORT"
  [ "$with_pg" = "--postgres" ] && echo "export DATABASE_URL=postgres://streamlite@127.0.0.1:$PG_PORT/postgres"
  echo "export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
  echo "export MONGO_URL=mongodb://127.0.0.1:$MONGO_PORT/"
}

stop() {
  [ -f "$dir/mongo.pid" ] && kill "$(cat "$dir/mongo.pid")" 2>/dev/null || true
  [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
  [ -d "$dir/pg" ] && as_pg "$PG_BIN/pg_ctl" -D "$dir/pg" -m fast stop >/dev/null 2>&1 || true
  rm -f "$dir/mongo.pid" "$dir/redis.pid"
}

"$action"
