# SPIN Trainer: slim image, non-root, data in a volume, migrates on start.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    SPIN_TRAINER_DATA_DIR=/data \
    SPIN_TRAINER_CONTENT_DIR=/app \
    SPIN_TRAINER_HOST=0.0.0.0 \
    SPIN_TRAINER_PORT=8000

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY trainer ./trainer
COPY personas ./personas
COPY rubrics ./rubrics
COPY web ./web
RUN pip install -c constraints.txt . \
 && useradd --create-home --uid 10001 trainer \
 && mkdir -p /data && chown trainer:trainer /data

USER trainer
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"

# `serve` runs the migrations before it starts listening.
CMD ["spin-trainer", "serve", "--host", "0.0.0.0", "--port", "8000"]
