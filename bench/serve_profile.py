"""What a `POST /predict` costs inside a worker: CPU time per request of `dltp serve`'s application
against the bare WSGI app, and of each step of the request.

In one process, without a server or a network (so other work on the machine weighs on CPU time
far less than on wall time): the application (the Flask app with its fast path, every feature on,
Prometheus' multiprocess mode as under gunicorn) and the bare app (bench/_bare_wsgi.py) are called
as gunicorn calls them, with a WSGI environ holding one real MNIST test digit, alternately, in
≥ 5 interleaved rounds after a warm-up (bench/_rounds.py); each figure is the process CPU time of
the round divided by its requests. Then each step of the request alone (best of several repeats)
and, with ``--cprofile``, the functions that cost most. Both apps serve the same export
(forward.npz) through the same loader.

``--instructions`` (needs Debian's valgrind) counts the instructions a request costs instead,
which no other work on the machine changes: each side runs under cachegrind with 0 and with N
requests, and the difference over N is its cost per request; once in process (the application
alone), once under gunicorn (one worker of the service's settings, N requests one after the other
on a keep-alive connection; the worker's and the master's instructions). The metrics are flushed
at the end, not every second: a flush costs per second, not per request, and valgrind makes the
run a hundred times longer.

    python bench/serve_profile.py
    python bench/serve_profile.py --requests 5000 --cprofile
    python bench/serve_profile.py --instructions
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "src")]
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="dltp-profile-metrics-")  # as under gunicorn
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("KERAS_BACKEND", "torch")


def exported_model(tmp: Path):
    """TP1's network (untrained: the cost does not depend on the weights), its reference from real
    digits, exported as the image serves it; and the digits' test images."""
    import keras

    from dltp.data import load_images
    from dltp.labs.tp1 import reference_statistics
    from dltp.models.dense import build_dense
    from dltp.serve.model import export

    data = load_images("mnist_5k")
    keras.utils.set_random_seed(0)
    build_dense().save(tmp / "model.keras")
    (tmp / "reference_stats.json").write_text(json.dumps(reference_statistics(data.x_train, data.y_train, 10)))
    export(str(tmp), tmp / "export")
    return tmp / "export", data.x_test


def environ(body: bytes) -> dict:
    return {"PATH_INFO": "/predict", "REQUEST_METHOD": "POST", "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body), "SERVER_SOFTWARE": "profile"}


def cpu_per_request(app, bodies: list[bytes], n: int) -> float:
    """Process CPU microseconds per request over ``n`` requests."""
    def start_response(status, headers):
        pass

    start = time.process_time()
    for i in range(n):
        b"".join(app(environ(bodies[i % len(bodies)]), start_response))
    return (time.process_time() - start) / max(n, 1) * 1e6


def best_us(fn, number: int = 2000, repeat: int = 5) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def child(side: str, n: int, export_dir: str, bodies_file: str) -> None:
    """In a process of its own (under cachegrind): set up ``side``'s app, then ``n`` requests."""
    os.environ["DLTP_MODEL_PATH"] = str(Path(export_dir) / "forward.npz")
    bodies = Path(bodies_file).read_bytes().splitlines()
    if side == "bare":
        import _bare_wsgi

        app = _bare_wsgi.app
    else:
        from dltp.serve.app import create_app
        from dltp.serve.model import load

        app = create_app(load(export_dir))
    cpu_per_request(app, bodies, n)


def cachegrind(argv: list[str], out: Path, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(["valgrind", "--trace-children=yes", "--tool=cachegrind", "--cache-sim=no",
                             f"--cachegrind-out-file={out}/cg.%p", *argv], env={**os.environ, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=open(out / "log", "w"))


def instructions(out: Path) -> int:
    """The instructions of every process cachegrind followed into ``out``."""
    return sum(int(line.split()[1]) for f in out.glob("cg.*") for line in f.read_text().splitlines()
               if line.startswith("summary:"))


def in_process(side: str, n: int, export_dir: Path, bodies_file: Path, out: Path) -> int:
    out.mkdir(parents=True)
    proc = cachegrind([sys.executable, __file__, "--child", side, str(n), str(export_dir), str(bodies_file)], out,
                      {"PYTHONHASHSEED": "0", "DLTP_METRICS_FLUSH_SECONDS": "100000"})
    if proc.wait():
        raise SystemExit(f"the {side} child failed:\n{(out / 'log').read_text()[-3000:]}")
    return instructions(out)


def under_gunicorn(side: str, n: int, export_dir: Path, bodies: list[bytes], out: Path) -> int:
    import http.client
    import signal
    import socket

    out.mkdir(parents=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"PYTHONHASHSEED": "0", "DLTP_MODEL": str(export_dir), "DLTP_MODEL_PATH": str(export_dir / "forward.npz"),
           "PROMETHEUS_MULTIPROC_DIR": str(out / "metrics"), "DLTP_METRICS_FLUSH_SECONDS": "100000",
           "PYTHONPATH": os.pathsep.join([str(HERE.parent / "src"), str(HERE), os.environ.get("PYTHONPATH", "")])}
    (out / "metrics").mkdir()
    app = "_bare_wsgi:app" if side == "bare" else "dltp.serve.wsgi:app"
    proc = cachegrind([sys.executable, "-m", "gunicorn", "--config", "python:dltp.serve.gunicorn_conf",
                       "--workers", "1", "--bind", f"127.0.0.1:{port}", "--timeout", "900", "--graceful-timeout", "600",
                       app], out, env)
    deadline = time.monotonic() + 900
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            c.request("GET", "/ready")
            if c.getresponse().status == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit(f"gunicorn ({side}) under valgrind did not start")
        time.sleep(1)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    for i in range(n):
        c.request("POST", "/predict", bodies[i % len(bodies)], {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        if r.status != 200:
            raise SystemExit(f"{side}: HTTP {r.status}")
    c.close()  # (an open keep-alive connection would hold the worker's graceful exit)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=900)
    return instructions(out)


def count_instructions(export_dir: Path, bodies: list[bytes], n: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (Debian: apt-get install valgrind)")
    tmp = Path(tempfile.mkdtemp(prefix="dltp-instructions-"))
    bodies_file = tmp / "bodies"
    bodies_file.write_bytes(b"\n".join(bodies))
    jobs = {(level, side, k): (level, side, k) for level in ("in process", "under gunicorn")
            for side in ("dltp", "bare") for k in (0, n)}

    def run(job):
        level, side, k = job
        out = tmp / f"{level.replace(' ', '-')}-{side}-{k}"
        if level == "in process":
            return in_process(side, k, export_dir, bodies_file, out)
        return under_gunicorn(side, k, export_dir, bodies, out)

    with ThreadPoolExecutor(2) as pool:  # instruction counts do not depend on what runs beside them
        counts = dict(zip(jobs, pool.map(run, jobs)))
    print(f"\nInstructions per request (cachegrind, (count with {n} requests - count with 0) / {n}):")
    for level in ("in process", "under gunicorn"):
        per = {side: (counts[(level, side, n)] - counts[(level, side, 0)]) / n for side in ("dltp", "bare")}
        print(f"  {level}: dltp serve {per['dltp'] / 1e3:,.1f} k, bare app {per['bare'] / 1e3:,.1f} k, "
              f"bare / dltp {per['bare'] / per['dltp']:.3f}")
    shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    from _rounds import MIN_ROUNDS, fmt, interleaved, ratio, summary

    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per side and round")
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS)
    parser.add_argument("--cprofile", action="store_true", help="also print cProfile's top functions of dltp's app")
    parser.add_argument("--instructions", type=int, nargs="?", const=1000, metavar="N",
                        help="also count instructions per request under valgrind, over N requests (default 1000)")
    args = parser.parse_args()

    import numpy as np
    import orjson

    tmp = Path(tempfile.mkdtemp(prefix="dltp-profile-"))
    export_dir, x_test = exported_model(tmp)
    os.environ["DLTP_MODEL_PATH"] = str(export_dir / "forward.npz")
    import _bare_wsgi
    from dltp.serve import validation
    from dltp.serve.app import create_app
    from dltp.serve.fastpath import _one_image
    from dltp.serve.model import load

    served = load(str(export_dir))
    app = create_app(served)
    monitor = app.extensions["dltp.monitor"]
    order = np.random.RandomState(0).permutation(len(x_test))[:200]
    bodies = [orjson.dumps({"image": x_test[i].reshape(-1).astype(int).tolist()}) for i in order]

    sides = {"dltp serve (every feature on)": app, "bare WSGI app": _bare_wsgi.app}
    rounds = interleaved({name: (lambda a=a: cpu_per_request(a, bodies, args.requests)) for name, a in sides.items()},
                         rounds=args.rounds)
    dltp_us, bare_us = rounds["dltp serve (every feature on)"], rounds["bare WSGI app"]
    print(f"CPU per request inside the worker, µs, median (min–max) of {args.rounds} interleaved rounds of "
          f"{args.requests} requests, one MNIST digit each, {served.forward_kind} forward pass:")
    for name, values in rounds.items():
        print(f"  {name}: {fmt(summary(values))}")
    share = ratio(bare_us, dltp_us)
    extra = summary([d - b for d, b in zip(dltp_us, bare_us)])
    print(f"  bare / dltp: {fmt(share)}  (dltp's features cost {fmt(extra)} µs a request)")

    body = bodies[0]
    image = orjson.loads(body)["image"]
    pixels = _one_image(body)
    probabilities = served.predict_pixels(pixels)
    digit = int(probabilities[0].argmax())
    probs = probabilities.astype(float).tolist()
    mean = float(pixels.sum()) / validation.PIXELS
    steps = {
        "orjson.loads (both)": lambda: orjson.loads(body),
        "bare: np.asarray(image, float32)": lambda: np.asarray(image, dtype=np.float32),
        "dltp: plain_numbers(body) (no strings, no true/false/null)": lambda: validation.plain_numbers(body),
        "dltp: pixel_array (float64, shape, 0-255)": lambda: validation.pixel_array([image], ((validation.PIXELS,),)),
        "forward pass: predict_pixels (both)": lambda: served.predict_pixels(pixels),
        "answer: argmax, tolist, orjson.dumps (both)": lambda: orjson.dumps(
            {"prediction": int(probabilities[0].argmax()), "probabilities": probabilities.astype(float).tolist()}),
        "dltp: finite check and mean pixel": lambda: (np.isfinite(probabilities.sum()), float(pixels.sum()) / 784),
        "dltp: metrics and drift (record_prediction)": lambda: monitor.record_prediction(0.0004, mean, digit,
                                                                                          probs[0][digit]),
    }
    print("\nEach step alone, µs (best of 5 repeats):")
    for name, fn in steps.items():
        print(f"  {name}: {best_us(fn):.2f}")
    for _ in range(1000):
        monitor.record_prediction(0.0004, mean, digit, probs[0][digit])
    start = time.process_time()
    monitor.flush()
    print(f"  dltp: one flush of 1,000 requests' counts into the metrics files (once a second): "
          f"{(time.process_time() - start) * 1e6:.0f} µs")

    if args.cprofile:
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.runcall(cpu_per_request, app, bodies, args.requests)
        print()
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)
    if args.instructions:
        count_instructions(export_dir, bodies, args.instructions)
    return 0


if __name__ == "__main__":
    sys.exit(main())
