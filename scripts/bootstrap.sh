#!/usr/bin/env bash
# Installs what StreamLite needs and is missing: Debian packages, the Python venv, front-end packages.
# Safe to run again: it only does what is not done yet.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

need_pkgs=()
have_cmd() { command -v "$1" >/dev/null 2>&1 || [ -x "$2" ]; }
have_cmd pg_ctl /usr/lib/postgresql/15/bin/pg_ctl || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need_pkgs+=(postgresql)
have_cmd redis-server /usr/bin/redis-server || need_pkgs+=(redis-server)
have_cmd nginx /usr/sbin/nginx || need_pkgs+=(nginx-light)
[ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] || need_pkgs+=(libnginx-mod-rtmp)
have_cmd ffmpeg /usr/bin/ffmpeg || need_pkgs+=(ffmpeg)
have_cmd chromium /usr/bin/chromium || need_pkgs+=(chromium)
# Glyphs for Chinese, Korean and Japanese names and danmaku in the browser tests' screenshots.
[ -d /usr/share/fonts/opentype/noto ] || need_pkgs+=(fonts-noto-cjk)
have_cmd npm /usr/bin/npm || need_pkgs+=(npm)
# msgfmt for compilemessages (the .mo catalogues are built, not committed); msgattrib for the catalogue test.
have_cmd msgfmt /usr/bin/msgfmt || need_pkgs+=(gettext)
# The load generator of the page benchmark (bench/bench_pages.py).
have_cmd wrk /usr/bin/wrk || need_pkgs+=(wrk)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "Installing system packages: ${need_pkgs[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
# Debian's packages may start their own daemons; ours run as plain processes on our own folders.
for svc in nginx redis-server postgresql; do
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.requirements-installed
if [ ! -f "$stamp" ] || [ requirements.txt -nt "$stamp" ] || [ requirements-dev.txt -nt "$stamp" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
  touch "$stamp"
fi

if [ ! -f static/vendor/.installed ] || [ package-lock.json -nt static/vendor/.installed ]; then
  npm ci --silent --no-audit --no-fund
  mkdir -p static/vendor
  # Served without its source map: the map is only for debugging hls.js itself.
  sed "/^\/\/# sourceMappingURL=/d" node_modules/hls.js/dist/hls.min.js >static/vendor/hls.min.js
  rm -f static/vendor/hls.min.js.map
  touch static/vendor/.installed
fi
