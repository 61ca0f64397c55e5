"""Load test: `dltp serve` against the original design, side by side, on loopback.

The baseline is the seed's API: Flask's development server calling ``model.predict`` for every
request. Both servers load the same TP1 model file and receive the same requests (real digit
images, the original JSON contract) from the same load generator: C client processes, each
sending its share of a fixed number of requests one after another on a new connection. Prints
requests/s, p50 and p99 latency and the error count for 1 and 4 connections.

    python bench/serve_load.py                      # TP1 architecture, untrained weights
    python bench/serve_load.py --model models:/mnist-dense@champion --requests 4000

The load generator runs on the same machine as the servers and takes CPU from them; the
numbers are what this machine measured, not a property of the code alone.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

NAIVE_SERVER = textwrap.dedent("""
    # The original design: Flask development server, model.predict per request.
    import sys
    import numpy as np
    import keras
    from flask import Flask, jsonify, request

    model = keras.saving.load_model(sys.argv[1])
    app = Flask(__name__)

    @app.route("/predict", methods=["POST"])
    def predict():
        data = request.get_json()
        x = np.array(data["image"], dtype="float32").reshape(1, 784) / 255.0
        probabilities = model.predict(x, verbose=0)
        return jsonify({"prediction": int(np.argmax(probabilities)), "probabilities": probabilities.tolist()})

    @app.route("/ready")
    def ready():
        return "ok"

    app.run(host="127.0.0.1", port=int(sys.argv[2]))
""")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/ready")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"server on {port} not ready after {timeout} s")


def _client(port: int, bodies: list[bytes], count: int, start_at: float, out: mp.Queue) -> None:
    latencies, errors = [], 0
    while time.time() < start_at:
        time.sleep(0.001)
    for i in range(count):
        body = bodies[i % len(bodies)]
        t0 = time.perf_counter()
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("POST", "/predict", body, {"Content-Type": "application/json"})
            resp = c.getresponse()
            resp.read()
            c.close()
            ok = resp.status == 200
        except OSError:
            ok = False
        latencies.append(time.perf_counter() - t0)
        errors += not ok
    out.put((latencies, errors))


def load(port: int, bodies: list[bytes], total: int, connections: int) -> dict:
    out: mp.Queue = mp.Queue()
    start_at = time.time() + 0.5
    share = [total // connections + (i < total % connections) for i in range(connections)]
    procs = [mp.Process(target=_client, args=(port, bodies[i::connections], share[i], start_at, out))
             for i in range(connections)]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    wall = max(0.0, time.time() - start_at)
    latencies = np.concatenate([r[0] for r in results]) * 1e3
    return {"requests": int(len(latencies)), "errors": int(sum(r[1] for r in results)),
            "rps": len(latencies) / wall, "p50": float(np.percentile(latencies, 50)),
            "p99": float(np.percentile(latencies, 99))}


def start(argv: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(argv, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def make_model(directory: Path) -> Path:
    """The TP1 architecture (untrained: the speed does not depend on the weights)."""
    import keras

    from dltp.data.digits import load_digits
    from dltp.labs.tp1 import reference_statistics
    from dltp.models.dense import build_dense

    keras.utils.set_random_seed(0)
    path = directory / "model.keras"
    build_dense().save(path)
    d = load_digits()
    (directory / "reference_stats.json").write_text(json.dumps(reference_statistics(d.x_train, d.y_train, 10)))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model for both servers: .keras path or MLflow URI "
                                        "(default: the TP1 architecture, untrained)")
    parser.add_argument("--requests", type=int, default=3000, help="requests per run to dltp serve")
    parser.add_argument("--baseline-requests", type=int, default=300, help="requests per run to the baseline")
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--workers", type=int, default=None, help="dltp serve workers (default: CPU cores)")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "src"))
    env = {"PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
           "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "torch")}
    tmp = Path(tempfile.mkdtemp(prefix="dltp-bench-"))
    if args.model:
        from dltp.serve.model import export

        model_path = export(args.model, tmp)
    else:
        model_path = make_model(tmp)

    from dltp.data.digits import load_digits

    x = load_digits().x_test
    bodies = [json.dumps({"image": im.reshape(-1).astype(int).tolist()}).encode() for im in x]
    workers = args.workers or os.cpu_count() or 1

    rows = []
    servers = [
        ("baseline (flask dev + model.predict)", [sys.executable, "-c", NAIVE_SERVER, str(model_path)],
         args.baseline_requests),
        (f"dltp serve ({workers} workers)",
         [sys.executable, "-m", "dltp", "serve", "--model", str(model_path), "--workers", str(workers)],
         args.requests),
    ]
    for name, argv, total in servers:
        port = free_port()
        argv = argv + ([str(port)] if "-c" in argv else ["--port", str(port)])
        proc = start(argv, env)
        try:
            wait_ready(port, proc)
            load(port, bodies, 20 * max(args.connections), max(args.connections))  # warm-up
            for conns in args.connections:
                r = load(port, bodies, total, conns)
                rows.append((name, conns, r))
                print(f"  {name}, {conns} connection(s): {r['rps']:.1f} req/s, p50 {r['p50']:.2f} ms, "
                      f"p99 {r['p99']:.2f} ms, {r['errors']} errors", file=sys.stderr, flush=True)
        finally:
            stop(proc)

    print(f"\nmodel: {args.model or 'TP1 architecture (784-512-10), untrained'}; backend "
          f"{env['KERAS_BACKEND']}; {os.cpu_count()} CPU cores; client and servers on the same machine\n")
    print("| server | connections | requests | errors | requests/s | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, conns, r in rows:
        print(f"| {name} | {conns} | {r['requests']} | {r['errors']} | {r['rps']:.1f} | {r['p50']:.2f} | "
              f"{r['p99']:.2f} |")
    base = {c: r for n, c, r in rows if n.startswith("baseline")}
    serve = {c: r for n, c, r in rows if n.startswith("dltp")}
    for c in args.connections:
        if c in base and c in serve:
            print(f"\n{c} connection(s): dltp serve / baseline = {serve[c]['rps'] / base[c]['rps']:.1f}× "
                  f"requests/s", end="")
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
