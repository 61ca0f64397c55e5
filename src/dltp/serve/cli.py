"""``dltp serve``: the model behind gunicorn (several workers), or ``--export`` it for a Docker image.

Nothing heavy is imported here: keras and mlflow load inside the workers.
"""

from __future__ import annotations

import os
import sys
import tempfile

from dltp.serve import DEFAULT_MODEL


def add_arguments(parser) -> None:
    parser.add_argument("--model", default=os.environ.get("DLTP_MODEL", DEFAULT_MODEL),
                        help="MLflow model URI or .keras path (default: $DLTP_MODEL or %(default)s)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s; "
                                                            "0.0.0.0 for every interface)")
    parser.add_argument("--port", type=int, default=5000, help="port (default %(default)s)")
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn worker processes (default: one per CPU core)")
    parser.add_argument("--export", metavar="DIR",
                        help="copy the model, its reference statistics and its NumPy forward pass "
                             "(forward.npz) into DIR (e.g. model/ for the Docker image) and exit")


def gunicorn_argv(host: str, port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "--config", "python:dltp.serve.gunicorn_conf",
            "--bind", f"{host}:{port}", "--workers", str(workers), "dltp.serve.wsgi:app"]


def main(args) -> int:
    from dltp.config import require_at_least_one
    from dltp.errors import DltpError
    from dltp.serve import model

    if args.export:
        path = model.export(args.model, args.export)
        print(f"exported {args.model} to {path}")
        if path.suffix != ".npz":
            print("note: this model is not a chain of Dense/BatchNormalization/Activation layers, so it has no "
                  "NumPy forward pass: it is served through Keras (not by the slim image)", file=sys.stderr)
        return 0
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    require_at_least_one(workers=workers)
    if not 0 < args.port < 65536:
        raise DltpError("--port must be between 1 and 65535")
    # Resolve (download) the model once here, so that a wrong URI is a clear error and the
    # workers all load the same local file.
    cache = None if model.is_local(args.model) else tempfile.mkdtemp(prefix="dltp-model-")
    path = model.served_file(model.resolve(args.model, cache))
    env = {**os.environ, "DLTP_MODEL": args.model, "DLTP_MODEL_PATH": str(path)}
    print(f"serving {args.model} on http://{args.host}:{args.port} with {workers} workers", flush=True)
    argv = gunicorn_argv(args.host, args.port, workers)
    os.execve(sys.executable, argv, env)
    return 0  # pragma: no cover
