"""Load test: `dltp serve` against the original design, `mlflow models serve` and a bare WSGI app.

Every server serves the same registered MLflow model (TP1's architecture, registered as TP1
registers it, in a temporary MLflow store) and is measured side by side in one run by Debian's
`wrk` (a C load generator, keep-alive connections) posting one Fashion-MNIST test image as the
JSON body (a Lua script sets it):

- the original design: Flask's development server calling ``model.predict`` per request, on the
  **tensorflow** backend;
- ``mlflow models serve -m models:/mnist-dense@champion --env-manager local`` (its own contract,
  ``{"inputs": [[784 values / 255]]}``), as many workers as dltp serve;
- ``dltp serve``: gunicorn, validation, Prometheus metrics and drift on;
- a bare WSGI app (``bench/_bare_wsgi.py``): the same JSON contract and NumPy forward pass, no
  framework, validation or metrics, under the same gunicorn settings as dltp serve.

Prints requests/s, p50 and p99 at 1 and 4 connections with the load average when each
measurement started, and writes them to bench/results/serve_load.json. Server and wrk share the
machine's cores: the numbers are what this machine measured, not a property of the code alone.

    python bench/serve_load.py
    python bench/serve_load.py --only dltp bare --duration 5
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
MODEL_URI = "models:/mnist-dense@champion"
# Settings compared side by side: name → (description, environment of dltp serve and the bare app).
VARIANTS = {
    "threads": ("{w} workers × 4 threads, keep-alive: the service's settings", {}),
    "sync": ("{w} sync workers", {"DLTP_WORKER_CLASS": "sync"}),
    "flask": ("{w} workers × 4 threads, every request through Flask (no fast path)", {"DLTP_FAST_PATH": "0"}),
}

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

LUA = """wrk.method = "POST"
wrk.path = "{path}"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[{body}]==]
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, path: str, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = Path(proc.args_log).read_text()[-3000:] if getattr(proc, "args_log", None) else ""
            raise SystemExit(f"{' '.join(map(str, proc.args))[:200]} exited with {proc.returncode}:\n{log}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", path)
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"server on {port} not ready after {timeout} s")


def check_answer(key: str, port: int, body: str) -> None:
    """One request before the load: a server that answers with an error is not measured."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", "/predict" if key != "mlflow" else "/invocations", body, {"Content-Type": "application/json"})
    resp = c.getresponse()
    answer = resp.read()
    if resp.status != 200:
        raise SystemExit(f"{key}: HTTP {resp.status} {answer[:300]!r}")


def start(argv: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "w") as out:  # the server's output, shown if it fails to start
        proc = subprocess.Popen(argv, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    proc.args_log = str(log)
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    if text == "nan":
        return float("nan")
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * _UNITS[unit]


def parse_wrk(out: str) -> dict:
    """Requests/s, p50/p99 (ms), requests and non-2xx/socket errors from wrk --latency output."""
    pct = {"50": "nan", "99": "nan", **dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))}
    socket_errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": _ms(pct["50"]), "p99_ms": _ms(pct["99"]),
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "errors": (int(non_2xx.group(1)) if non_2xx else 0) + socket_errors}


def wrk(port: int, lua: Path, connections: int, seconds: float, parse: bool = True) -> dict | None:
    argv = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "30s",
            "-s", str(lua), f"http://127.0.0.1:{port}/"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return parse_wrk(out) if parse else None


def register_model(tmp: Path) -> tuple[Path, list[int]]:
    """TP1's architecture (untrained: speed does not depend on the weights) registered as TP1 does.

    Returns the .keras file and one Fashion-MNIST test image (784 pixel values 0-255)."""
    import keras
    import mlflow

    from dltp import tracking
    from dltp.data import load_images
    from dltp.labs.common import flat_pixels
    from dltp.labs.tp1 import reference_statistics
    from dltp.models.dense import build_dense
    from dltp.serve.model import model_file, resolve

    data = load_images("fashion_mnist")
    keras.utils.set_random_seed(0)
    model = build_dense()
    stats = reference_statistics(data.x_train[:10_000], data.y_train[:10_000], 10)
    image = data.x_test[0].reshape(-1).astype(int).tolist()
    with tracking.run("tp1-mnist-dense", dltp_id="tp1", run_name="serve-load") as active:
        source, model_id = tracking.log_mlflow_keras_model(model, flat_pixels(data.x_test[:1]), "model",
                                                           {"reference_stats.json": stats})
        tracking.register_model("mnist-dense", source, active.info.run_id, score_key="test_accuracy", score=0.0,
                                dataset=data.name, fallback=data.fallback, model_id=model_id)
    mlflow.end_run()
    return model_file(resolve(MODEL_URI, tmp / "download")), image


def gunicorn_env(keras_file: Path, metrics_dir: Path) -> dict:
    return {"DLTP_MODEL": MODEL_URI, "DLTP_MODEL_PATH": str(keras_file), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=4, help="seconds of load per measurement")
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--workers", type=int, default=None, help="server workers (default: CPU cores)")
    parser.add_argument("--only", nargs="+", choices=["original", "mlflow", "dltp", "bare"],
                        help="measure only these servers")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per server and connection count")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS),
                        help="server settings to compare (default: all): " + "; ".join(
                            f"{k}: {v[0].format(w='N')}" for k, v in VARIANTS.items()))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("serve_load needs wrk (Debian: apt-get install wrk)")

    tmp = Path(tempfile.mkdtemp(prefix="dltp-serve-load-"))
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp / 'mlflow.db'}"
    os.environ.setdefault("KERAS_BACKEND", "torch")
    sys.path.insert(0, str(ROOT / "src"))
    keras_file, image = register_model(tmp)
    workers = args.workers or os.cpu_count() or 1
    python_path = os.pathsep.join([str(ROOT / "src"), str(ROOT / "bench"), os.environ.get("PYTHONPATH", "")])
    env = {"PYTHONPATH": python_path, "KERAS_BACKEND": os.environ["KERAS_BACKEND"], "OMP_NUM_THREADS": "1",
           "MLFLOW_TRACKING_URI": os.environ["MLFLOW_TRACKING_URI"],
           # mlflow models serve starts `uvicorn` from PATH: the environment's own, as when it is activated
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    contract = json.dumps({"image": image})
    mlflow_body = json.dumps({"inputs": [[round(v / 255.0, 6) for v in image]]})
    servers = {  # key: (row label, argv without the port, extra env, ready path, body)
        "original": ("original design: Flask dev server + model.predict, tensorflow",
                     [sys.executable, "-c", NAIVE_SERVER, str(keras_file)], {"KERAS_BACKEND": "tensorflow"},
                     "/ready", contract),
        "mlflow": (f"mlflow models serve --env-manager local, {workers} workers",
                   [sys.executable, "-m", "mlflow", "models", "serve", "-m", MODEL_URI, "--env-manager", "local",
                    "-h", "127.0.0.1", "-w", str(workers), "-p"], {}, "/ping", mlflow_body),
    }
    for variant in args.variants:  # the candidates, side by side
        suffix = "" if variant == "threads" else f"-{variant}"
        variant_env = VARIANTS[variant][1]
        servers["dltp" + suffix] = (
            f"dltp serve, {VARIANTS[variant][0].format(w=workers)}",
            [sys.executable, "-m", "dltp", "serve", "--model", MODEL_URI, "--workers", str(workers), "--port"],
            {"PROMETHEUS_MULTIPROC_DIR": str(tmp / f"metrics-dltp{suffix}"), **variant_env}, "/ready", contract)
        if "DLTP_FAST_PATH" not in variant_env:  # the bare app has no fast path to turn off
            servers["bare" + suffix] = (
                f"bare WSGI app, {VARIANTS[variant][0].format(w=workers).split(':')[0]}",
                [sys.executable, "-m", "gunicorn", "--config", "python:dltp.serve.gunicorn_conf",
                 "--workers", str(workers), "_bare_wsgi:app", "--bind"],
                {**gunicorn_env(keras_file, tmp / f"metrics-bare{suffix}"), **variant_env}, "/ready", contract)
    chosen = {k: v for k, v in servers.items() if not args.only or k.split("-")[0] in args.only}

    # All servers up at once (idle ones cost nothing), then measured in turns, round after round:
    # other work on the machine weighs on every server alike. Each figure is the median of the rounds.
    procs, ports = {}, {}
    try:
        for key, (label, argv, extra_env, ready_path, body) in chosen.items():
            path = "/invocations" if key == "mlflow" else "/predict"  # mlflow's scoring path
            (tmp / f"{key}.lua").write_text(LUA.format(body=body, path=path))
            ports[key] = free_port()
            argv = argv + ([f"127.0.0.1:{ports[key]}"] if argv[-1] == "--bind" else [str(ports[key])])
            procs[key] = start(argv, {**env, **extra_env}, tmp / f"{key}.log")
        for key, (_, _, _, ready_path, body) in chosen.items():
            wait_ready(ports[key], ready_path, procs[key])
            check_answer(key, ports[key], body)
            wrk(ports[key], tmp / f"{key}.lua", max(args.connections), 3, parse=False)  # warm-up: every worker
        rows = []
        for conns in args.connections:
            runs: dict[str, list[dict]] = {key: [] for key in chosen}
            for _ in range(args.rounds):
                for key in chosen:
                    load = os.getloadavg()[0]
                    runs[key].append({"load_average": load, **wrk(ports[key], tmp / f"{key}.lua", conns,
                                                                   args.duration)})
            for key, measured in runs.items():
                r = {"server": key, "label": chosen[key][0], "connections": conns, "rounds": measured,
                     **{m: float(np.median([x[m] for x in measured]))
                        for m in ("rps", "p50_ms", "p99_ms", "load_average")},
                     "errors": sum(x["errors"] for x in measured), "requests": sum(x["requests"] for x in measured)}
                rows.append(r)
                print(f"  {r['label']}, {conns} connection(s): {r['rps']:.1f} req/s, p50 {r['p50_ms']:.2f} ms, "
                      f"p99 {r['p99_ms']:.2f} ms, {r['errors']} errors, load {r['load_average']:.2f}",
                      file=sys.stderr, flush=True)
    finally:
        for proc in procs.values():
            stop(proc)
    shutil.rmtree(tmp, ignore_errors=True)
    report(rows, args, workers)
    return 0


def report(rows: list[dict], args, workers: int) -> None:
    print(f"\nwrk, median of {args.rounds} rounds of {args.duration:g} s taken in turns, one Fashion-MNIST image "
          f"per request, TP1 architecture (784-512-10); {os.cpu_count()} CPU cores shared by server and wrk; "
          f"KERAS_BACKEND={os.environ['KERAS_BACKEND']} except the original design\n")
    print("| server | connections | requests/s | p50 ms | p99 ms | errors | load avg |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['label']} | {r['connections']} | {r['rps']:,.1f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
              f"{r['errors']} | {r['load_average']:.2f} |")
    by = {(r["server"], r["connections"]): r for r in rows}
    ratios = {}
    for (key, c), r in by.items():
        if key.startswith("dltp"):
            for other in ("bare" + key[len("dltp"):], "original", "mlflow"):
                if (other, c) in by:
                    ratios[f"{key}/{other}@{c}"] = round(r["rps"] / by[(other, c)]["rps"], 3)
    if ratios:
        print("\nrequests/s ratios: " + ", ".join(f"{k} {v:g}" for k, v in ratios.items()))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "serve_load.json").write_text(json.dumps(
        {"duration_s": args.duration, "rounds": args.rounds, "workers": workers, "cpu_count": os.cpu_count(),
         "rows": rows,
         "ratios": ratios}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
