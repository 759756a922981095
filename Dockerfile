# Connex in a container: `connex daemon` on sync.schedule, the Web Connector endpoint (QuickBooks Desktop) and
# /healthz on the ports below. Configuration and state live in the /data volume (docs/deploy.md).
#   docker build -t connex .
#   docker run -d --name connex -v connex-data:/data -p 8787:8787 -p 8085:8085 connex
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/connex
COPY setup.cfg setup.py pyproject.toml README.md run.py ./
COPY connex ./connex
COPY plugins ./plugins
COPY rules ./rules
COPY schemas ./schemas
RUN pip install --no-compile . \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin connex \
    && mkdir -p /data && chown connex /data

USER 10001
WORKDIR /data
VOLUME ["/data"]
# daemon.health and the Desktop target's listen must use 0.0.0.0 inside the container to be reachable
EXPOSE 8787 8085
HEALTHCHECK --interval=60s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8787/healthz', timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["connex", "--config", "/data/connex.yaml"]
CMD ["daemon"]
