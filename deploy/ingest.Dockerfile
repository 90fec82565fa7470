# The ingest: nginx with Debian's RTMP module. Its config is rendered by the web image
# (`manage.py render_rtmp_config`, the ingest-config service of docker-compose.yml) into a shared volume.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx-light libnginx-mod-rtmp \
    && rm -rf /var/lib/apt/lists/*
EXPOSE 1935 8080
CMD ["nginx", "-p", "/etc/streamlite-ingest/", "-c", "/etc/streamlite-ingest/nginx.conf", "-e", "stderr", "-g", "daemon off;"]
