# The TP1 model service: gunicorn workers serving dltp.serve (see docs/serving.md).
#   dltp serve --model models:/mnist-dense@champion --export model   # bake the champion in
#   docker build -t mnist-api .
#   docker run -p 5000:5000 mnist-api
# Or pull the model from an MLflow server when the container starts:
#   docker run -p 5000:5000 -e DLTP_MODEL=models:/mnist-dense@champion \
#     -e MLFLOW_TRACKING_URI=http://mlflow.example:5000 mnist-api
# Build arguments: BASE, any image with Python 3.11 and pip (tests/container/build_and_run.sh uses
# a Debian bookworm made with debootstrap); TORCH_INDEX, where torch comes from. A torch wheel put
# in wheels/ (e.g. the CPU build the host's pip downloaded) is installed instead of the index's.
ARG BASE=python:3.11-slim
FROM ${BASE}
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_BREAK_SYSTEM_PACKAGES=1

WORKDIR /app

# torch first and alone, the CPU build: never the multi-GB CUDA build that PyPI gives Linux.
COPY wheels/ /tmp/wheels/
RUN if ls /tmp/wheels/torch-2.13.0*.whl >/dev/null 2>&1; then pip install /tmp/wheels/torch-2.13.0*.whl; \
    else pip install --index-url "$TORCH_INDEX" torch==2.13.0; fi && rm -rf /tmp/wheels

COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . && useradd --create-home --uid 10001 dltp

COPY --chown=dltp:dltp model/ /app/model/

USER dltp

ENV KERAS_BACKEND=torch \
    DLTP_MODEL=/app/model/model.keras \
    DLTP_HOST=0.0.0.0 \
    PORT=5000 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/dltp-metrics \
    MPLCONFIGDIR=/tmp/matplotlib

EXPOSE 5000

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/ready' % os.environ.get('PORT', '5000'), timeout=4)"]

CMD ["gunicorn", "--config", "python:dltp.serve.gunicorn_conf", "dltp.serve.wsgi:app"]
