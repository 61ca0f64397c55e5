"""Load test: `dltp serve` against the original design, `mlflow models serve` and a bare WSGI app.

Every server serves the same registered MLflow model (TP1's architecture, registered as TP1
registers it, in a temporary MLflow store) and is measured side by side by Debian's `wrk` (a C
load generator, keep-alive connections) posting one Fashion-MNIST test image as the JSON body (a
Lua script sets it):

- the original design: Flask's development server calling ``model.predict`` per request, on the
  **tensorflow** backend;
- ``mlflow models serve -m models:/mnist-dense@champion --env-manager local`` (its own contract,
  ``{"inputs": [[784 values / 255]]}``), as many workers as dltp serve;
- ``dltp serve`` on the slim image's stack: the champion exported (``dltp serve --export``) and
  served from its ``forward.npz`` (NumPy alone: no Keras, no backend in the workers), gunicorn,
  validation, Prometheus metrics and drift on;
- the floor, a bare WSGI app (``bench/_bare_wsgi.py``), like for like: the same export loaded by the
  same loader into the same NumPy forward pass, orjson, the same gunicorn settings (workers, worker
  class, threads, keep-alive). What differs is what is measured: no validation, metrics, drift or
  Flask (for the requests the fast path does not take).

``--image IMAGE`` measures ``dltp serve`` and the bare app inside the built image instead (podman,
host network; the bare app mounted into it): the image's own packages.

Placement: wrk and the servers would otherwise fight for the same cores, and a round then measures
the scheduler as much as the server (the record of commit c340296: one server's rounds spread over
more than a factor of two). By default (``--pin``, with at least 2 CPUs) wrk gets the last CPU and every
server the others (taskset), as a load generator on another machine would leave them; the workers
default to the server's CPUs. ``--no-pin`` shares all CPUs, as before.

Rounds (bench/_rounds.py): after a warm-up round, every server is measured once per round in turn,
≥ 5 rounds; each figure is the median of the rounds with their spread (min–max); a ratio of two
servers is taken round by round, and a goal is met only when every round meets it. Besides wrk's
figures, the CPU seconds the server's processes used per request (``/proc``; host mode) say what a
request costs whatever else the machine is doing. Goals: dltp serve ≥ 0.9 of the bare app's
requests/s, and p99 ≤ 4 ms, at 4 connections. Writes bench/results/serve_load.json.

    python bench/serve_load.py
    python bench/serve_load.py --only dltp bare --variants threads --connections 4
    python bench/serve_load.py --image localhost/dltp-mnist-api:test
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

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
MODEL_URI = "models:/mnist-dense@champion"
# Settings compared side by side: name → (description, environment of dltp serve and the bare app).
# {t}: the threads per worker (DLTP_SERVE_THREADS, dltp.serve.DEFAULT_THREADS unless --server-env sets it).
VARIANTS = {
    "threads": ("{w} workers × {t} threads, keep-alive: the service's settings", {}),
    "sync": ("{w} sync workers", {"DLTP_WORKER_CLASS": "sync"}),
    "flask": ("{w} workers × {t} threads, every request through Flask (no fast path)", {"DLTP_FAST_PATH": "0"}),
    # one request at a time per worker: no thread waits for the GIL, but a slow client holds the worker
    "one-thread": ("{w} workers × 1 thread, keep-alive (a slow client holds the worker)", {"DLTP_SERVE_THREADS": "1"}),
    # twice the threads: twice as many slow clients held per worker, a longer tail at 4 connections on one core
    "four-threads": ("{w} workers × 4 threads, keep-alive", {"DLTP_SERVE_THREADS": "4"}),
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


def cpu_sets(pin: bool) -> tuple[list[int], list[int]]:
    """(server CPUs, wrk CPUs): the last CPU for wrk, the others for the servers; all for both unpinned."""
    cpus = sorted(os.sched_getaffinity(0))
    if not pin or len(cpus) < 2:
        return cpus, cpus
    return cpus[:-1], cpus[-1:]


def on_cpus(cpus: list[int], argv: list[str]) -> list[str]:
    """``argv`` bound to ``cpus`` (taskset, checked by main), unchanged when they are all this process has."""
    if set(cpus) == os.sched_getaffinity(0):
        return argv
    return ["taskset", "-c", ",".join(map(str, cpus)), *argv]


def wrk(port: int, lua: Path, connections: int, seconds: float, cpus: list[int], parse: bool = True) -> dict | None:
    argv = on_cpus(cpus, ["wrk", f"-t{min(len(cpus), 2, connections)}", f"-c{connections}", f"-d{seconds:g}s",
                          "--latency", "--timeout", "30s", "-s", str(lua), f"http://127.0.0.1:{port}/"])
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return parse_wrk(out) if parse else None


def register_model(tmp: Path) -> tuple[Path, list[int]]:
    """TP1's architecture (untrained: speed does not depend on the weights) registered as TP1 does,
    then exported as the slim image serves it.

    Returns the export's directory (forward.npz, reference_stats.json) and one Fashion-MNIST test
    image (784 pixel values 0-255)."""
    import keras
    import mlflow

    from dltp import tracking
    from dltp.data import load_images
    from dltp.labs.common import flat_pixels
    from dltp.labs.tp1 import reference_statistics
    from dltp.models.dense import build_dense
    from dltp.serve.model import export

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
    if export(MODEL_URI, tmp / "export").name != "forward.npz":
        raise SystemExit("the registered model has no NumPy forward pass to export")
    return tmp / "export", image


def session_cpu_seconds(sid: int) -> float:
    """CPU seconds (user + system) of the live processes of session ``sid`` (a server and its workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # fields after the name: state ppid pgrp session ... utime(11) stime(12)
            total += int(fields[11]) + int(fields[12])
    return total / tick


def image_argv(image: str, key: str, port: int, workers: int, variant_env: dict) -> list[str]:
    """`podman run` of dltp serve (the image's command) or of the bare app, mounted into the image."""
    argv = ["podman", "--runtime", "runc", "run", "--rm", "--name", f"dltp-load-{key}-{port}", "--network", "host",
            "-e", f"PORT={port}", "-e", f"DLTP_WORKERS={workers}", "-e", "DLTP_HOST=127.0.0.1"]
    for name, value in variant_env.items():
        argv += ["-e", f"{name}={value}"]
    if key.startswith("bare"):
        argv += ["-v", f"{ROOT / 'bench' / '_bare_wsgi.py'}:/opt/bench/_bare_wsgi.py:ro",
                 "-e", "PYTHONPATH=/opt/serve:/opt/bench", "-e", "DLTP_MODEL_PATH=/app/model/forward.npz",
                 image, "python3", "-m", "gunicorn", "--config", "python:dltp.serve.gunicorn_conf", "_bare_wsgi:app"]
    else:
        argv.append(image)
    return argv


def main() -> int:
    from _rounds import MIN_ROUNDS, interleaved, ratio, summary, verdict

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=4, help="seconds of load per measurement")
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--workers", type=int, default=None, help="server workers (default: CPU cores)")
    parser.add_argument("--only", nargs="+", choices=["original", "mlflow", "dltp", "bare"],
                        help="measure only these servers")
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS, help="measured rounds (after a warm-up round)")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS),
                        help="server settings to compare (default: all): " + "; ".join(
                            f"{k}: {v[0].format(w='N', t='T')}" for k, v in VARIANTS.items()))
    parser.add_argument("--image", help="run dltp serve and the bare app inside this built image (podman)")
    parser.add_argument("--pin", action=argparse.BooleanOptionalAction, default=True,
                        help="wrk on the last CPU, the servers on the others (default; --no-pin: all share all)")
    parser.add_argument("--server-env", nargs="+", default=[], metavar="NAME=VALUE",
                        help="set for dltp serve and the bare app alike, e.g. DLTP_SERVE_THREADS=4: a server "
                             "setting is measured on both sides of the floor")
    args = parser.parse_args()
    if any("=" not in item or not item.split("=")[0] for item in args.server_env):
        parser.error("--server-env takes NAME=VALUE items")
    args.shared_env = dict(item.split("=", 1) for item in args.server_env)
    if shutil.which("wrk") is None:
        raise SystemExit("serve_load needs wrk (Debian: apt-get install wrk)")
    if args.pin and shutil.which("taskset") is None:
        raise SystemExit("serve_load --pin needs taskset (Debian: util-linux); or pass --no-pin")
    server_cpus, wrk_cpus = cpu_sets(args.pin)
    args.server_cpus, args.wrk_cpus = server_cpus, wrk_cpus

    tmp = Path(tempfile.mkdtemp(prefix="dltp-serve-load-"))
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp / 'mlflow.db'}"
    os.environ.setdefault("KERAS_BACKEND", "torch")
    sys.path.insert(0, str(ROOT / "src"))
    from dltp.serve import DEFAULT_THREADS
    export_dir, image = register_model(tmp)
    workers = args.workers or len(server_cpus)
    python_path = os.pathsep.join([str(ROOT / "src"), str(ROOT / "bench"), os.environ.get("PYTHONPATH", "")])
    env = {"PYTHONPATH": python_path, "KERAS_BACKEND": os.environ["KERAS_BACKEND"], "OMP_NUM_THREADS": "1",
           "MLFLOW_TRACKING_URI": os.environ["MLFLOW_TRACKING_URI"],
           # mlflow models serve starts `uvicorn` from PATH: the environment's own, as when it is activated
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    contract = json.dumps({"image": image})
    mlflow_body = json.dumps({"inputs": [[round(v / 255.0, 6) for v in image]]})
    servers = {} if args.image else {  # key: (row label, argv without the port, extra env, ready path, body)
        "original": ("original design: Flask dev server + model.predict, tensorflow",
                     [sys.executable, "-c", NAIVE_SERVER, str(export_dir / "model.keras")],
                     {"KERAS_BACKEND": "tensorflow"}, "/ready", contract),
        "mlflow": (f"mlflow models serve --env-manager local, {workers} workers",
                   [sys.executable, "-m", "mlflow", "models", "serve", "-m", MODEL_URI, "--env-manager", "local",
                    "-h", "127.0.0.1", "-w", str(workers), "-p"], {}, "/ping", mlflow_body),
    }
    where = f" in {args.image}" if args.image else ""
    for variant in args.variants:  # the candidates, side by side
        suffix = "" if variant == "threads" else f"-{variant}"
        variant_env = {**VARIANTS[variant][1], **args.shared_env}
        described = VARIANTS[variant][0].format(w=workers, t=variant_env.get("DLTP_SERVE_THREADS", DEFAULT_THREADS))
        servers["dltp" + suffix] = (
            f"dltp serve{where}, {described}",
            [sys.executable, "-m", "dltp", "serve", "--model", str(export_dir), "--workers", str(workers), "--port"],
            {"PROMETHEUS_MULTIPROC_DIR": str(tmp / f"metrics-dltp{suffix}"), **variant_env}, "/ready", contract)
        if "DLTP_FAST_PATH" not in variant_env:  # the bare app has no fast path to turn off
            servers["bare" + suffix] = (
                f"bare WSGI app{where}, {described.split(':')[0]}",
                [sys.executable, "-m", "gunicorn", "--config", "python:dltp.serve.gunicorn_conf",
                 "--workers", str(workers), "_bare_wsgi:app", "--bind"],
                {"DLTP_MODEL_PATH": str(export_dir / "forward.npz"),
                 "PROMETHEUS_MULTIPROC_DIR": str(tmp / f"metrics-bare{suffix}"), **variant_env}, "/ready", contract)
    chosen = {k: v for k, v in servers.items() if not args.only or k.split("-")[0] in args.only}

    # All servers up at once (idle ones cost nothing), then measured in turns, round after round:
    # other work on the machine weighs on every server alike.
    procs, ports = {}, {}
    try:
        for key, (label, argv, extra_env, ready_path, body) in chosen.items():
            path = "/invocations" if key == "mlflow" else "/predict"  # mlflow's scoring path
            (tmp / f"{key}.lua").write_text(LUA.format(body=body, path=path))
            ports[key] = free_port()
            if args.image:
                argv = image_argv(args.image, key, ports[key], workers,
                                  {**VARIANTS[_variant(key)][1], **args.shared_env})
            else:
                argv = argv + ([f"127.0.0.1:{ports[key]}"] if argv[-1] == "--bind" else [str(ports[key])])
            procs[key] = start(on_cpus(server_cpus, argv), {**env, **extra_env}, tmp / f"{key}.log")
        for key, (_, _, _, ready_path, body) in chosen.items():
            wait_ready(ports[key], ready_path, procs[key])
            check_answer(key, ports[key], body)
        rows = []
        for conns in args.connections:
            runs: dict[str, list[dict]] = {key: [] for key in chosen}

            def measure(key: str) -> float:
                before = session_cpu_seconds(procs[key].pid)
                result = {"load_average": os.getloadavg()[0],
                          **wrk(ports[key], tmp / f"{key}.lua", conns, args.duration, wrk_cpus)}
                if not args.image:  # the container's processes are not in this session
                    result["cpu_ms_per_request"] = (session_cpu_seconds(procs[key].pid) - before) * 1e3 / max(
                        result["requests"], 1)
                runs[key].append(result)
                return result["rps"]

            interleaved({key: (lambda key=key: measure(key)) for key in chosen}, rounds=args.rounds)
            for key in chosen:
                measured = runs[key][1:]  # the first is the warm-up round
                figures = {m: summary([x[m] for x in measured])
                           for m in ("rps", "p50_ms", "p99_ms", "cpu_ms_per_request") if m in measured[0]}
                r = {"server": key, "label": chosen[key][0], "connections": conns, "rounds": measured,
                     **figures, "load_average": summary([x["load_average"] for x in measured]),
                     "errors": sum(x["errors"] for x in measured), "requests": sum(x["requests"] for x in measured)}
                rows.append(r)
                print(f"  {r['label']}, {conns} connection(s): {_fig(r['rps'], 1)} req/s, p99 "
                      f"{_fig(r['p99_ms'], 2)} ms, {r['errors']} errors", file=sys.stderr, flush=True)
    finally:
        for key, proc in procs.items():
            if args.image:
                subprocess.run(["podman", "--runtime", "runc", "rm", "-f", f"dltp-load-{key}-{ports[key]}"],
                               capture_output=True)
            stop(proc)
    shutil.rmtree(tmp, ignore_errors=True)
    report(rows, args, workers, ratio, verdict)
    return 0


def _variant(key: str) -> str:
    return key.partition("-")[2] or "threads"


def _fig(s: dict, digits: int) -> str:
    """'3,395.9 (3,120.0–3,512.4)': median (min–max of the rounds)."""
    return f"{s['median']:,.{digits}f} ({s['min']:,.{digits}f}–{s['max']:,.{digits}f})"


def placement(args) -> str:
    if args.server_cpus == args.wrk_cpus:
        return f"{len(args.server_cpus)} CPU cores shared by the servers and wrk"
    return (f"servers pinned to CPU {','.join(map(str, args.server_cpus))}, wrk (one thread) to CPU "
            f"{','.join(map(str, args.wrk_cpus))}")


def report(rows: list[dict], args, workers: int, ratio, verdict) -> None:
    cpu = any("cpu_ms_per_request" in r for r in rows)
    print(f"\nwrk, {args.rounds} rounds of {args.duration:g} s after a warm-up round, servers in turns; median "
          f"(min–max) of the rounds; one Fashion-MNIST image per request, TP1 architecture (784-512-10); "
          f"{placement(args)}; dltp serve and the bare app serve the same "
          f"export (forward.npz, NumPy, no Keras in the workers) with orjson and the same gunicorn settings"
          + (f" ({' '.join(args.server_env)} on both)" if args.server_env else "") +
          f"; KERAS_BACKEND={os.environ['KERAS_BACKEND']} for the others, tensorflow for the original design\n")
    print("| server | conn. | requests/s | p50 ms | p99 ms |" + (" server CPU ms/request |" if cpu else "")
          + " errors | load avg |")
    print("|---|---:|---:|---:|---:|" + ("---:|" if cpu else "") + "---:|---:|")
    for r in rows:
        print(f"| {r['label']} | {r['connections']} | {_fig(r['rps'], 1)} | {_fig(r['p50_ms'], 2)} | "
              f"{_fig(r['p99_ms'], 2)} |" + (f" {_fig(r['cpu_ms_per_request'], 3)} |" if cpu else "")
              + f" {r['errors']} | {r['load_average']['median']:.2f} |")
    by = {(r["server"], r["connections"]): r for r in rows}
    ratios, goals = {}, {}
    for (key, c), r in by.items():
        if not key.startswith("dltp"):
            continue
        for other in ("bare" + key[len("dltp"):], "original", "mlflow"):
            if (other, c) in by:
                ratios[f"{key}/{other}@{c}"] = ratio([x["rps"] for x in r["rounds"]],
                                                     [x["rps"] for x in by[(other, c)]["rounds"]])
        if ("bare" + key[len("dltp"):], c) in by and "cpu_ms_per_request" in r:
            bare = by[("bare" + key[len("dltp"):], c)]
            ratios[f"cpu {'bare' + key[len('dltp'):]}/{key}@{c}"] = ratio(
                [x["cpu_ms_per_request"] for x in bare["rounds"]], [x["cpu_ms_per_request"] for x in r["rounds"]])
    if ("dltp", 4) in by and ("bare", 4) in by:
        goals["requests/s dltp/bare at 4 connections ≥ 0.9"] = verdict(ratios["dltp/bare@4"], 0.9)
        goals["p99 of dltp at 4 connections ≤ 4 ms"] = verdict(by[("dltp", 4)]["p99_ms"], 4.0, higher_is_better=False)
    if ratios:
        print("\nratios, round by round (median, min–max): " + "; ".join(
            f"{k} {v['median']:.3g} ({v['min']:.3g}–{v['max']:.3g})" for k, v in ratios.items()))
    for goal, result in goals.items():
        print(f"goal: {goal}: {result}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "serve_load.json").write_text(json.dumps(
        {"duration_s": args.duration, "rounds": args.rounds, "workers": workers, "cpu_count": os.cpu_count(),
         "server_env": args.shared_env,
         "server_cpus": args.server_cpus, "wrk_cpus": args.wrk_cpus,
         "image": args.image, "rows": rows, "ratios": ratios, "goals": goals}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
