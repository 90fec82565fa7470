#!/usr/bin/env bash
# make demo-stream: publishes an ffmpeg test pattern (a tone, and the wall clock burnt in when a font is
# installed) to the demo user's room of `make run`, like OBS would. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
# The same defaults as scripts/run.sh, so the command reads the database `make run` uses.
export DEBUG=${DEBUG:-1}
url=$(.venv/bin/python manage.py demo_stream_url)

video_filter=()
font=$(find /usr/share/fonts -name 'DejaVuSansMono*.ttf' -o -name 'LiberationMono-Regular.ttf' 2>/dev/null | head -1)
if [ -z "$font" ]; then
  font=$(find /usr/share/fonts -name '*.ttf' 2>/dev/null | head -1)
fi
if [ -n "$font" ]; then
  video_filter=(-vf "drawtext=fontfile=$font:text='%{localtime\:%T}':fontsize=48:fontcolor=white:box=1:boxcolor=black@0.6:x=20:y=h-th-20")
fi

echo "Publishing a test pattern to the demo room (Ctrl-C stops)."
exec ffmpeg -hide_banner -loglevel warning -re \
  -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440 \
  "${video_filter[@]}" \
  -c:v libx264 -preset veryfast -tune zerolatency -g 30 -b:v 2500k -maxrate 2500k -bufsize 5000k \
  -c:a aac -b:a 128k -ar 44100 -f flv "$url"
