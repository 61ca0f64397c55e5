# The TP1 model service, slim: gunicorn workers serving dltp.serve on an exported NumPy forward pass
# (see docs/serving.md). Two stages:
#   build    the full dltp (Keras, torch's CPU build, ...) turns the model into forward.npz
#            (`dltp serve --export`), and installs the runtime's packages into /opt/serve;
#   runtime  Python, /opt/serve (dltp and pyproject's `serve` extra: NumPy, Flask, orjson, gunicorn,
#            prometheus-client, Pillow) and the export. No Keras, torch, jax or MLflow.
#
#   dltp serve --model models:/mnist-dense@champion --export model   # bake the champion in
#   docker build -t mnist-api .
#   docker run -p 5000:5000 mnist-api
#
# Build arguments: BASE, the build stage's image (Python 3.11 and pip); RUNTIME_BASE, the runtime's
# (the same Python: the packages are built for it; pip not needed). tests/container/base_images.sh
# makes both from Debian bookworm with debootstrap. TORCH_INDEX: where torch comes from (a
# torch-2.13.0*.whl put in wheels/ is installed instead). MODEL: what to export, the model/ folder
# by default, or an MLflow URI (with MLFLOW_TRACKING_URI).
ARG BASE=python:3.11-slim
ARG RUNTIME_BASE=python:3.11-slim

FROM ${BASE} AS build
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_BREAK_SYSTEM_PACKAGES=1 \
    KERAS_BACKEND=torch \
    MPLCONFIGDIR=/tmp/matplotlib
WORKDIR /src

# torch first and alone, the CPU build: never the multi-GB CUDA build that PyPI gives Linux.
COPY wheels/ /tmp/wheels/
RUN if ls /tmp/wheels/torch-2.13.0*.whl >/dev/null 2>&1; then pip install /tmp/wheels/torch-2.13.0*.whl; \
    else pip install --index-url "$TORCH_INDEX" torch==2.13.0; fi && rm -rf /tmp/wheels

# Dependencies in their own layers (rebuilt only when pyproject.toml changes): dltp's, here, for the
# export; the `serve` extra's, into /opt/serve, for the runtime.
COPY pyproject.toml README.md ./
RUN python3 -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies']), file=open('/tmp/full.txt', 'w')); \
print('\n'.join(p['optional-dependencies']['serve']), file=open('/tmp/serve.txt', 'w'))" \
 && pip install -r /tmp/full.txt \
 && pip install --target /opt/serve -r /tmp/serve.txt

COPY src ./src
RUN pip install --no-deps . && pip install --no-deps --target /opt/serve . && rm -rf /opt/serve/bin/dltp

ARG MODEL=/src/model
ARG MLFLOW_TRACKING_URI=
COPY model/ /src/model/
RUN dltp serve --model "$MODEL" --export /export && rm -f /export/model.keras \
 && { test -f /export/forward.npz \
      || { echo "the model has no NumPy forward pass (dltp serve --export): the slim image cannot serve it" >&2; \
           exit 1; }; }

FROM ${RUNTIME_BASE}
ENV PYTHONPATH=/opt/serve \
    PATH=/opt/serve/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    DLTP_MODEL=/app/model \
    DLTP_HOST=0.0.0.0 \
    PORT=5000 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/dltp-metrics
COPY --from=build /opt/serve /opt/serve
COPY --from=build /export/ /app/model/

# Any non-root user: no account needed (uid 10001).
USER 10001:10001
EXPOSE 5000

HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["python3", "-m", "dltp.serve.healthcheck"]

CMD ["python3", "-m", "gunicorn", "--config", "python:dltp.serve.gunicorn_conf", "dltp.serve.wsgi:app"]
