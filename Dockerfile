# The web image; worker and beat run it with another command (see docker-compose.yml).
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# ffmpeg/ffprobe: the worker probes, remuxes and thumbnails recordings. gettext: compilemessages.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg gettext \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
COPY --from=assets /src/node_modules/hls.js/dist/hls.min.js /src/node_modules/hls.js/dist/hls.min.js.map static/vendor/
# Settings insist on real secrets when DEBUG is off; collectstatic needs neither, so placeholders do.
RUN SECRET_KEY=collectstatic RTMP_HOOK_SECRET=collectstatic python manage.py compilemessages -v0 \
    && SECRET_KEY=collectstatic RTMP_HOOK_SECRET=collectstatic python manage.py collectstatic --noinput -v0 \
    && useradd --system --create-home app \
    && mkdir -p var media \
    && chown app var media
USER app
EXPOSE 8000
# WEB_WORKERS web processes (passed to --workers by the shell): one core each, each listening on its own socket.
ENV WEB_WORKERS=2
CMD ["sh", "-c", "exec python -m streamlite.web_processes --host 0.0.0.0 --port 8000 --workers \"$WEB_WORKERS\""]
