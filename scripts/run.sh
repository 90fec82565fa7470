#!/usr/bin/env bash
# make run: installs what is missing, prepares the database and demo data, then starts every process of
# DESIGN §1 on this machine (web, worker, beat, Redis, the MongoDB stand-in, the ingest when configured).
# Logs go to var/log/<name>.log; the web log is also shown here. Ctrl-C stops everything started here.
# VAR_DIR (default var/) holds what this install writes: secrets, logs, services' data, HLS, recordings.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh

# This is production for a self-hoster: DEBUG stays off unless asked for (DEBUG=1 make run).
export DEBUG=${DEBUG:-0}
export VAR_DIR=${VAR_DIR:-$PWD/var}
export REDIS_PORT=${REDIS_PORT:-6379} MONGO_PORT=${MONGO_PORT:-27017} PG_PORT=${PG_PORT:-5433}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}
export MONGO_URL=${MONGO_URL:-mongodb://127.0.0.1:$MONGO_PORT/}
# The local PostgreSQL under $VAR_DIR/services unless DATABASE_URL names another database (SQLite included).
with_pg=""
if [ -z "${DATABASE_URL:-}" ]; then
  with_pg=--postgres
  export PG_DURABLE=1
  export DATABASE_URL=postgres://streamlite@127.0.0.1:$PG_PORT/postgres
fi
# Secrets drawn on the first start and reused (scripts/make_secrets.py); the environment's own win.
.venv/bin/python scripts/make_secrets.py "$VAR_DIR/secrets.env"
while IFS='=' read -r name value; do
  [ -n "$name" ] && [ -z "${!name:-}" ] && export "$name=$value"
done <"$VAR_DIR/secrets.env"
# Mail (password reset and confirmation links in the web log, alert e-mails in the worker's) is printed
# until EMAIL_URL names an SMTP server or EMAIL_BACKEND an API provider.
export EMAIL_URL=${EMAIL_URL:-consolemail://}
WEB_HOST=127.0.0.1 WEB_PORT=${WEB_PORT:-8000}
# Links in mail the worker sends point here.
export SITE_URL=${SITE_URL:-http://$WEB_HOST:$WEB_PORT}
# Web processes: a burst of RTMP publish hooks (an ingest restarting) is CPU-bound, and one process uses one
# core (docs/benchmarks.md, reconnect storm). Nothing in the web process is per-process state that
# matters: the chat hub syncs over Redis, caches and rate limits live in Redis.
WEB_WORKERS=${WEB_WORKERS:-2}
# Every chat viewer holds a socket: a shell's default of 1,024 open files would cap a room well below the
# thousands a web process serves (docs/benchmarks.md, chat fan-out).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
export RTMP_HOOK_BASE_URL=${RTMP_HOOK_BASE_URL:-http://$WEB_HOST:$WEB_PORT}
PY=.venv/bin/python
mkdir -p "$VAR_DIR/log"

names=()
pids=()
stopping=""
# gone_wait N [-]: until every started process (with -: every process group) is gone, at most N tenths
# of a second.
gone_wait() {
  for _ in $(seq 1 "$1"); do
    alive=""
    for pid in "${pids[@]}"; do kill -0 -- "${2:-}$pid" 2>/dev/null && alive=1; done
    [ -z "$alive" ] && return 0
    sleep 0.1
  done
}
cleanup() {
  [ -n "$stopping" ] && return
  stopping=1
  trap '' INT TERM HUP
  echo
  echo "Stopping: ${names[*]:-nothing started yet}"
  # Each process leads its own process group (setsid). The leaders are asked first: Celery's worker, nginx
  # and the web launcher stop their own children (a pool process killed under the worker is logged as an
  # error); then whatever a group still holds (an encoder a task started) is stopped, then killed.
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  gone_wait 100
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  gone_wait 20 -
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  scripts/services.sh stop "$VAR_DIR/services"
  echo "Stopped."
}
trap cleanup EXIT
# Ctrl-C is the normal way to stop: not a failure.
trap 'exit 0' INT
trap 'exit 143' TERM HUP

# start NAME COMMAND...: runs COMMAND in its own process group, output to $VAR_DIR/log/NAME.log.
start() {
  local name=$1
  shift
  echo "starting $name: $* (log: $VAR_DIR/log/$name.log)"
  setsid "$@" >"$VAR_DIR/log/$name.log" 2>&1 </dev/null &
  names+=("$name")
  pids+=("$!")
}

wait_port() {
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing answers on port $1" >&2
  return 1
}

scripts/services.sh start "$VAR_DIR/services" $with_pg >/dev/null
$PY manage.py compilemessages -v0 --ignore=.venv --ignore=node_modules
# WhiteNoise serves the collected, hashed files when DEBUG is off (the manifest storage).
$PY manage.py collectstatic --noinput -v0
$PY manage.py migrate --noinput
$PY manage.py seed_demo
$PY manage.py ensure_admin

# uvicorn rather than Daphne: it carried the chat fan-out benchmark (docs/benchmarks.md); its options,
# and why each process listens on a socket of its own: streamlite/web_processes.py.
# Several web processes add up their /metrics counters through files in one emptied folder.
export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-$VAR_DIR/prometheus}
mkdir -p "$PROMETHEUS_MULTIPROC_DIR" && find "$PROMETHEUS_MULTIPROC_DIR" -maxdepth 1 -name '*.db' -delete
start web $PY -m streamlite.web_processes --host "$WEB_HOST" --port "$WEB_PORT" --workers "$WEB_WORKERS"
start worker .venv/bin/celery -A streamlite worker -l info --concurrency 2
start beat .venv/bin/celery -A streamlite beat -l info -s "$VAR_DIR/celerybeat-schedule"
if $PY manage.py help render_rtmp_config >/dev/null 2>&1; then
  $PY manage.py render_rtmp_config
  start ingest nginx -p "$VAR_DIR/nginx/" -c "$VAR_DIR/nginx/nginx.conf" -e "$VAR_DIR/nginx/error.log" -g 'daemon off;'
  # Streams an earlier ingest left live (killed, no publish_done) end now, not a reaper round later.
  wait_port "${HLS_HTTP_PORT:-8080}"
  $PY manage.py reconcile_ingest
else
  echo "ingest: not configured yet"
fi

wait_port "$WEB_PORT"
$PY manage.py run_banner --url "http://$WEB_HOST:$WEB_PORT"
echo "Press Ctrl-C to stop everything."

setsid tail -n +1 -F "$VAR_DIR/log/web.log" &
pids+=("$!")
# Stop everything as soon as any process dies: a half-running site is worse than a clear failure.
while true; do
  for i in "${!names[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "${names[$i]} exited; see $VAR_DIR/log/${names[$i]}.log" >&2
      exit 1
    fi
  done
  sleep 1
done
