#!/usr/bin/env bash
# `make test-image`: the slim image, built from a fresh clone and run for real with Debian's podman
# (no Docker Hub needed), under the pod manifest with Prometheus beside it.
#
#   1. base images from Debian bookworm (tests/container/base_images.sh, made once);
#   2. the model: `dltp run tp1 --quick` exported as model.keras + reference_stats.json (the
#      image's build stage turns it into forward.npz);
#   3. `podman build`: the image is at most 300 MB and holds no torch, jax, keras, tensorflow or mlflow;
#   4. `podman run`: /ready, the image's HEALTHCHECK, no process running as root;
#   5. `podman kube play deploy/kubernetes/pod.yaml` (the api image and Prometheus' replaced by the
#      local ones, free host ports): /health, /ready, /predict on real MNIST digits equal to the
#      Keras model's predict within 1e-5, and Prometheus scraping the service.
#
#   apt-get install podman runc debootstrap catatonit      # once
#   tests/container/build_and_run.sh                      # from the repository, with the project's .venv
#
# Environment: PYTHON (the project's Python, default .venv/bin/python), TORCH_WHEEL (default: the
# torch 2.13.0 wheel in /opt/wheels, else pip downloads it), WORK (scratch dir), IMAGE (the tag to
# build, default localhost/dltp-mnist-api:test; bench/container_start.py times its starts), BUILD_ONLY=1
# (stop after step 3). Prints the image's size.
set -euo pipefail

REPO=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
HERE="$REPO/tests/container"
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
# absolute (the script changes directory), without resolving the venv's python symlink
PYTHON="$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON")"
WORK=${WORK:-$(mktemp -d /tmp/dltp-image-XXXXXX)}
mkdir -p "$WORK"
export WORK
IMAGE=${IMAGE:-localhost/dltp-mnist-api:test}
PROMETHEUS_IMAGE=localhost/dltp-prometheus:bookworm
MAX_MB=300
for tool in podman runc debootstrap catatonit; do
  command -v "$tool" >/dev/null \
    || { echo "needs $tool: apt-get install podman runc debootstrap catatonit" >&2; exit 2; }
done

# podman's default ulimits cannot be set inside this kind of machine: none.
export CONTAINERS_CONF=$WORK/containers.conf
printf '[containers]\ndefault_ulimits = []\n' > "$CONTAINERS_CONF"
podman() { command podman --runtime runc "$@"; }
free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

bash "$HERE/base_images.sh"

echo "== fresh clone of $(git -C "$REPO" rev-parse --short HEAD)"
git clone -q "$REPO" "$WORK/src"
git -C "$WORK/src" checkout -q "$(git -C "$REPO" rev-parse HEAD)"
cd "$WORK/src"

echo "== the model: dltp run tp1 --quick, exported as Keras (the build stage compiles it)"
export MLFLOW_TRACKING_URI=sqlite:///$WORK/mlflow.db
PYTHONPATH=$WORK/src/src OMP_NUM_THREADS=1 "$PYTHON" -m dltp run tp1 --quick --epochs 1 >"$WORK/tp1.log" 2>&1
PYTHONPATH=$WORK/src/src "$PYTHON" -m dltp serve --export model >/dev/null 2>&1
rm -f model/forward.npz
cp model/model.keras "$WORK/model.keras"  # what the answers are compared with

TORCH_WHEEL=${TORCH_WHEEL:-$(ls /opt/wheels/torch-2.13.0*.whl 2>/dev/null | head -1)}
if [ -z "$TORCH_WHEEL" ]; then
  "$PYTHON" -m pip download -q --no-deps torch==2.13.0 -d "$WORK/wheel"
  TORCH_WHEEL=$(ls "$WORK/wheel"/torch-*.whl)
fi
cp "$TORCH_WHEEL" wheels/

echo "== podman build"
CA=/etc/ssl/certs/ca-certificates.crt  # the host's CA bundle, where Debian's pip looks
podman build -q --format docker --network host -v "$CA:$CA:ro" \
  --build-arg BASE=localhost/dltp-base:bookworm --build-arg RUNTIME_BASE=localhost/dltp-python:bookworm \
  -t "$IMAGE" . >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log"; exit 1; }
size=$(podman image inspect "$IMAGE" --format '{{.Size}}')
echo "image size: $((size / 1000000)) MB"
if ((size > MAX_MB * 1000000)); then echo "the image is larger than $MAX_MB MB" >&2; exit 1; fi

echo "== what the runtime holds"
podman run --rm "$IMAGE" python3 -c '
import importlib, importlib.metadata as md, sys
names = sorted({d.metadata["Name"].lower() for d in md.distributions()})
print("installed:", " ".join(names))
heavy = [n for n in ("torch", "jax", "jaxlib", "keras", "tensorflow", "tensorflow-cpu", "mlflow", "mlflow-skinny")
         if n in names]
importable = [n for n in ("torch", "jax", "keras", "tensorflow", "mlflow") if importlib.util.find_spec(n)]
sys.exit(f"the runtime holds {heavy + importable}" if heavy or importable else 0)'
if [ -n "${BUILD_ONLY:-}" ]; then exit 0; fi

echo "== podman run"
PORT=$(free_port)
podman rm -f dltp-image-test >/dev/null 2>&1 || true
# (Without systemd, podman cannot schedule the periodic health check: it says so on stderr.)
podman run -d --name dltp-image-test --network host -e PORT="$PORT" -e DLTP_WORKERS=2 "$IMAGE" >/dev/null 2>&1
cleanup() {
  podman logs dltp-image-test >"$WORK/container.log" 2>&1 || true
  podman rm -f dltp-image-test >/dev/null 2>&1 || true
  if [ -f "$WORK/pod.yaml" ]; then podman kube down "$WORK/pod.yaml" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
export PYTHONPATH=$WORK/src/src
"$PYTHON" "$HERE/probe.py" ready "http://127.0.0.1:$PORT"
# The image's own HEALTHCHECK command, run inside the container (no systemd timer needed).
podman healthcheck run dltp-image-test && echo "HEALTHCHECK: healthy"
users=$(podman top dltp-image-test user | tail -n +2 | sort -u)
echo "container processes run as: $users"
if grep -qx root <<<"$users"; then echo "a process runs as root" >&2; exit 1; fi
podman rm -f dltp-image-test >/dev/null

echo "== podman kube play deploy/kubernetes/pod.yaml"
API_PORT=$(free_port)
PROM_PORT=$(free_port)
"$PYTHON" - "$REPO/deploy/kubernetes/pod.yaml" "$WORK/pod.yaml" "$IMAGE" "$PROMETHEUS_IMAGE" \
  "$API_PORT" "$PROM_PORT" <<'EOF'
import sys
import yaml

source, out, image, prometheus_image, api_port, prom_port = sys.argv[1:]
docs = list(yaml.safe_load_all(open(source)))
for doc in docs:
    if doc["kind"] == "ConfigMap":  # scrape and evaluate every 2 s instead of 15 s: a shorter test
        doc["data"]["prometheus.yml"] = doc["data"]["prometheus.yml"].replace("15s", "2s")
    if doc["kind"] == "Pod":
        doc["metadata"]["name"] = "dltp-image-test-pod"
        for c in doc["spec"]["containers"]:
            c["image"] = {"api": image, "prometheus": prometheus_image}[c["name"]]
            c["ports"][0]["hostPort"] = int({"api": api_port, "prometheus": prom_port}[c["name"]])
yaml.safe_dump_all(docs, open(out, "w"), sort_keys=False)
EOF
podman kube play "$WORK/pod.yaml" >"$WORK/kube.log" 2>&1 || { cat "$WORK/kube.log"; exit 1; }
"$PYTHON" "$HERE/probe.py" pod "http://127.0.0.1:$API_PORT" "http://127.0.0.1:$PROM_PORT" "$WORK/model.keras"
echo "ok"
