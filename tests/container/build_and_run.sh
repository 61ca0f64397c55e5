#!/usr/bin/env bash
# The Docker image, built from a fresh clone and run for real with Debian's podman (no Docker Hub
# needed): a Debian bookworm base made with debootstrap, torch from the host's CPU wheel, the
# model trained by `dltp run tp1 --quick` and exported. Then, from outside the container: /ready,
# one /predict, and the server's processes run as a non-root user. Prints the image size.
#
#   apt-get install podman runc debootstrap      # once
#   tests/container/build_and_run.sh             # from the repository, with the project's .venv
#
# Environment: PYTHON (the project's Python, default .venv/bin/python), TORCH_WHEEL (default: the
# torch 2.13.0 wheel in pip's find-links /opt/wheels, else pip downloads it), WORK (scratch dir).
set -euo pipefail

REPO=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
# absolute (the script changes directory), without resolving the venv's python symlink
PYTHON="$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON")"
WORK=${WORK:-$(mktemp -d /tmp/dltp-image-XXXXXX)}
mkdir -p "$WORK"
IMAGE=localhost/dltp-mnist-api:test
BASE=localhost/dltp-base:bookworm
PORT=${PORT:-5077}
for tool in podman runc debootstrap; do
  command -v "$tool" >/dev/null || { echo "needs $tool: apt-get install podman runc debootstrap" >&2; exit 2; }
done

# podman's default ulimits cannot be set inside this kind of machine: none.
export CONTAINERS_CONF=$WORK/containers.conf
printf '[containers]\ndefault_ulimits = []\n' > "$CONTAINERS_CONF"
podman() { command podman --runtime runc "$@"; }

if ! podman image exists "$BASE"; then
  echo "== base image: debootstrap bookworm (minbase) + Python 3.11"
  debootstrap --variant=minbase --include=python3,python3-pip,python-is-python3,ca-certificates,passwd \
    bookworm "$WORK/rootfs" http://deb.debian.org/debian >"$WORK/debootstrap.log"
  rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"*
  tar -C "$WORK/rootfs" -c . | podman import - "$BASE" >/dev/null
  rm -rf "$WORK/rootfs"
fi

echo "== fresh clone of $(git -C "$REPO" rev-parse --short HEAD)"
git clone -q "$REPO" "$WORK/src"
git -C "$WORK/src" checkout -q "$(git -C "$REPO" rev-parse HEAD)"
cd "$WORK/src"

echo "== the model: dltp run tp1 --quick, exported"
export MLFLOW_TRACKING_URI=sqlite:///$WORK/mlflow.db
PYTHONPATH=$WORK/src/src OMP_NUM_THREADS=1 "$PYTHON" -m dltp run tp1 --quick --epochs 1 >"$WORK/tp1.log" 2>&1
PYTHONPATH=$WORK/src/src "$PYTHON" -m dltp serve --export model >/dev/null 2>&1

TORCH_WHEEL=${TORCH_WHEEL:-$(ls /opt/wheels/torch-2.13.0*.whl 2>/dev/null | head -1)}
if [ -z "$TORCH_WHEEL" ]; then
  "$PYTHON" -m pip download -q --no-deps torch==2.13.0 -d "$WORK/wheel"
  TORCH_WHEEL=$(ls "$WORK/wheel"/torch-*.whl)
fi
cp "$TORCH_WHEEL" wheels/

echo "== podman build"
CA=/etc/ssl/certs/ca-certificates.crt  # the host's CA bundle, where Debian's pip looks
podman build -q --format docker --network host --build-arg BASE="$BASE" -v "$CA:$CA:ro" \
  -t "$IMAGE" . >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log"; exit 1; }

echo "== podman run"
podman rm -f dltp-image-test >/dev/null 2>&1 || true
# (Without systemd, podman cannot schedule the periodic health check: it says so on stderr.)
podman run -d --name dltp-image-test --network host -e PORT="$PORT" -e DLTP_WORKERS=2 "$IMAGE" >/dev/null 2>&1
trap 'podman logs dltp-image-test >"$WORK/container.log" 2>&1; podman rm -f dltp-image-test >/dev/null 2>&1' EXIT

"$PYTHON" - "$PORT" <<'EOF'
import json, sys, time, urllib.request

url = f"http://127.0.0.1:{sys.argv[1]}"
deadline = time.time() + 300
while True:
    try:
        with urllib.request.urlopen(url + "/ready", timeout=5) as r:
            ready = json.load(r)
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("the container never answered /ready")
        time.sleep(1)
assert ready["status"] == "ready" and ready["drift_reference"] is True, ready
image = [0] * 784
for i in range(6, 22):
    image[i * 28 + 14] = 255  # a vertical stroke
req = urllib.request.Request(url + "/predict", json.dumps({"image": image}).encode(),
                             {"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=10) as r:
    answer = json.load(r)
assert len(answer["probabilities"][0]) == 10 and abs(sum(answer["probabilities"][0]) - 1) < 1e-4, answer
print(f"/ready: {ready['model']} ({ready['forward']}, {ready['backend']}); /predict: {answer['prediction']}")
EOF

# The image's own HEALTHCHECK command, run inside the container (no systemd timer needed).
podman healthcheck run dltp-image-test && echo "HEALTHCHECK: healthy"
users=$(podman top dltp-image-test user | tail -n +2 | sort -u)
echo "container processes run as: $users"
if grep -qx root <<<"$users"; then echo "a process runs as root" >&2; exit 1; fi
size=$(podman image inspect "$IMAGE" --format '{{.Size}}')
echo "image size: $((size / 1000000)) MB"
echo "ok"
