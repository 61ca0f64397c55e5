"""The slim image's size and start-up: seconds from `podman run` to the first 200 on /ready, and to
the first answer of /predict (median and spread of several starts, after a warm-up start).

Each start is a fresh container (`podman run -d --network host`, two workers) polled every 10 ms;
it is removed before the next. Goals (issue: serving in production): image ≤ 300 MB, /ready ≤ 3 s
after `podman run` (median of 5 starts). Writes bench/results/container_start.json.

    python bench/container_start.py                        # builds the image first (make test-image's build)
    python bench/container_start.py --image localhost/dltp-mnist-api:test --starts 5
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _rounds import MIN_ROUNDS, fmt, summary  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DEFAULT_IMAGE = "localhost/dltp-mnist-api:test"
GOAL_MB, GOAL_READY_S = 300, 3.0
STROKE = json.dumps({"image": [255 if i % 28 == 14 and 6 <= i // 28 < 22 else 0 for i in range(784)]}).encode()


def podman(*args: str, check: bool = True) -> str:
    return subprocess.run(["podman", "--runtime", "runc", *args], capture_output=True, text=True,
                          check=check).stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_200(make_request, timeout: float = 60) -> float:
    """perf_counter() at the first 200 answer of ``make_request()`` (polled every 10 ms)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            with urllib.request.urlopen(make_request(), timeout=1) as r:
                if r.status == 200:
                    return time.perf_counter()
        except (OSError, urllib.error.HTTPError):
            pass
        time.sleep(0.01)
    raise SystemExit(f"no 200 within {timeout} s")


def one_start(image: str) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    name = f"dltp-start-{os.getpid()}-{port}"
    start = time.perf_counter()
    podman("run", "-d", "--name", name, "--network", "host", "-e", f"PORT={port}", "-e", "DLTP_WORKERS=2", image)
    returned = time.perf_counter()
    try:
        ready = first_200(lambda: url + "/ready")
        predicted = first_200(lambda: urllib.request.Request(url + "/predict", STROKE,
                                                             {"Content-Type": "application/json"}))
    finally:
        podman("rm", "-f", name, check=False)
    return {"run_returned_s": returned - start, "ready_s": ready - start, "first_predict_s": predicted - start}


def build(image: str) -> None:
    env = {**os.environ, "IMAGE": image, "BUILD_ONLY": "1"}
    env.setdefault("PYTHON", sys.executable)
    subprocess.run(["bash", str(ROOT / "tests" / "container" / "build_and_run.sh")], env=env, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", help=f"an image already built (default: build {DEFAULT_IMAGE} first)")
    parser.add_argument("--starts", type=int, default=MIN_ROUNDS, help="measured starts (after one warm-up start)")
    args = parser.parse_args()
    if shutil.which("podman") is None:
        raise SystemExit("container_start needs podman (Debian: apt-get install podman runc debootstrap catatonit)")
    if "CONTAINERS_CONF" not in os.environ:  # podman's default ulimits cannot be set in every machine
        conf = Path(tempfile.mkdtemp(prefix="dltp-podman-")) / "containers.conf"
        conf.write_text("[containers]\ndefault_ulimits = []\n")
        os.environ["CONTAINERS_CONF"] = str(conf)
    image = args.image or DEFAULT_IMAGE
    if not args.image:
        build(image)
    size = int(podman("image", "inspect", image, "--format", "{{.Size}}"))
    load = os.getloadavg()[0]
    one_start(image)  # warm-up: the image's files into the page cache
    starts = [one_start(image) for _ in range(args.starts)]
    figures = {key: summary([s[key] for s in starts]) for key in starts[0]}
    ready = figures["ready_s"]["median"]
    record = {"image": image, "image_id": podman("image", "inspect", image, "--format", "{{.Id}}"),
              "size_bytes": size, "size_mb": round(size / 1e6, 1), "starts": starts, "figures": figures,
              "cpu_count": os.cpu_count(), "load_average_before": load, "load_average_after": os.getloadavg()[0],
              "goals": {"size_mb": GOAL_MB, "ready_s_median": GOAL_READY_S},
              "size_met": size <= GOAL_MB * 1e6, "ready_met": ready <= GOAL_READY_S}
    print(f"image {image}: {size / 1e6:.1f} MB (goal ≤ {GOAL_MB} MB: {'met' if record['size_met'] else 'not met'})")
    for key, label in (("run_returned_s", "`podman run -d` returned"), ("ready_s", "first 200 on /ready"),
                       ("first_predict_s", "first /predict answered")):
        print(f"  {label}: {fmt(figures[key])} s after `podman run`")
    print(f"/ready median {ready:.2f} s (goal ≤ {GOAL_READY_S} s: {'met' if record['ready_met'] else 'not met'}); "
          f"{os.cpu_count()} CPU cores, load average {load:.2f} before")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "container_start.json").write_text(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
