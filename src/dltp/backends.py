"""Which Keras backend runs an experiment, on which device, with how many threads.

One rule (docs/backends.md):

- ``dltp run ID --backend NAME`` or ``KERAS_BACKEND=NAME`` set by the user: every experiment runs
  on NAME (the flag wins over the variable);
- neither, or ``--backend auto``: each experiment runs on its preferred backend among those
  installed. The preferences are measured, not chosen: ``backend_preferences.json`` beside this
  module is written by the benchmarks (``make bench``; ``bench/run_all.py --write-preferences``),
  with the date, the machine and the figures each order was taken from, per device kind (cpu,
  gpu) and per budget (full, quick).

Nothing here imports keras: the backend must be chosen before keras is first imported.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path

from dltp.config import first_count
from dltp.errors import DltpError

KNOWN = ("torch", "jax", "tensorflow")
FALLBACK_ORDER = ("torch", "jax", "tensorflow")  # when no measurement names the experiment
PREFERENCES_FILE = Path(__file__).with_name("backend_preferences.json")
INSTALL = {"torch": "pip install torch==2.13.0", "jax": "pip install 'jax[cpu]'",
           "tensorflow": "pip install 'dltp[tensorflow]'  (tensorflow-cpu)"}


@dataclass(frozen=True)
class Choice:
    backend: str
    reason: str  # "--backend", "KERAS_BACKEND" or "auto: <which measurement>"


def installed(backend: str) -> bool:
    module = {"torch": "torch", "jax": "jax", "tensorflow": "tensorflow"}[backend]
    return importlib.util.find_spec(module) is not None


def check_name(name: str, where: str) -> str:
    name = name.strip().lower()
    if name not in KNOWN and name != "auto":
        raise DltpError(f"{where}: unknown backend {name!r}; choose auto, {', '.join(KNOWN)}")
    return name


def not_installed(backend: str) -> DltpError:
    return DltpError(f"the {backend} backend is not installed; install it with: {INSTALL[backend]}")


def user_backend() -> str | None:
    """KERAS_BACKEND as the user set it (before dltp gave it a default), or None."""
    import dltp

    return dltp.USER_KERAS_BACKEND


def gpu_visible() -> bool:
    """An NVIDIA GPU this process may use (cheap: no framework import)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return Path("/proc/driver/nvidia/gpus").is_dir() and any(Path("/proc/driver/nvidia/gpus").iterdir())


def can_use_gpu(backend: str) -> bool:
    """Whether ``backend``'s installed build runs on the GPU (a CPU-only build does not)."""
    if backend == "jax":
        return any(importlib.util.find_spec(m) is not None
                   for m in ("jax_cuda12_plugin", "jax_cuda13_plugin", "jax_plugins.xla_cuda12"))
    if backend == "torch":
        import torch  # cheap next to training; keras is still unbound

        return torch.cuda.is_available()
    if backend == "tensorflow":
        from importlib.metadata import PackageNotFoundError, version

        try:
            version("tensorflow-cpu")
            return False
        except PackageNotFoundError:
            return installed("tensorflow")
    return False


def load_preferences(path: Path | None = None) -> dict:
    path = Path(os.environ.get("DLTP_BACKEND_PREFERENCES") or path or PREFERENCES_FILE)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as exc:
        raise DltpError(f"{path} is not valid JSON ({exc}); regenerate it with `make bench`") from exc


def preferred_order(unit: str, *, device: str, quick: bool, preferences: dict | None = None) -> tuple[list[str], str]:
    """The measured order of backends for ``unit`` and where it comes from."""
    prefs = load_preferences() if preferences is None else preferences
    table = prefs.get(device) or {}
    budgets = ("quick", "full") if quick else ("full", "quick")
    for budget in budgets:
        order = (table.get(budget) or {}).get("order", {}).get(unit)
        if order:
            return list(order), f"{device}/{budget} measurement"
    return list(FALLBACK_ORDER), "no measurement for it"


def resolve(unit: str, *, flag: str | None, env: str | None, quick: bool = False,
            device: str | None = None, available=installed, preferences: dict | None = None) -> Choice:
    """The backend for ``unit``: the flag, else the user's KERAS_BACKEND, else the measured preference."""
    if flag and flag != "auto":
        name = check_name(flag, "--backend")
        if not available(name):
            raise not_installed(name)
        return Choice(name, "--backend")
    if not flag and env and env.strip().lower() != "auto":
        name = check_name(env, "KERAS_BACKEND")
        if not available(name):
            raise not_installed(name)
        return Choice(name, "KERAS_BACKEND")
    device = device or ("gpu" if gpu_visible() else "cpu")
    order, source = preferred_order(unit, device=device, quick=quick, preferences=preferences)
    usable = [b for b in order if b in KNOWN and available(b)]
    if device == "gpu":  # a backend that cannot reach the GPU goes last
        usable = [b for b in usable if can_use_gpu(b)] + [b for b in usable if not can_use_gpu(b)]
    if not usable:
        usable = [b for b in FALLBACK_ORDER if available(b)]
    if not usable:
        raise DltpError(f"no Keras backend is installed; install one, e.g. {INSTALL['torch']}")
    chosen = usable[0]
    passed_over = order[:order.index(chosen)] if chosen in order else []
    why = f"auto: {source}" + (f"; {', '.join(passed_over)} not installed or not usable" if passed_over else "")
    return Choice(chosen, why)


# --- threads ---------------------------------------------------------------------------------
#
# One experiment alone computes on every core; experiments side by side (dltp.lanes) share them,
# each on cores / lanes running at the moment it starts. --threads, DLTP_THREADS or
# OMP_NUM_THREADS, when set, win over both.

def cores() -> int:
    """The CPUs this process may run on (its affinity: a container's or taskset's limit), at least one."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def requested_threads(flag: int | None) -> int | None:
    """The thread count the user set (``--threads``, else DLTP_THREADS, else OMP_NUM_THREADS), or None."""
    return first_count((flag, "--threads"), (os.environ.get("DLTP_THREADS"), "DLTP_THREADS"),
                       (os.environ.get("OMP_NUM_THREADS"), "OMP_NUM_THREADS"))


def share(running: int = 1) -> int:
    """Threads for each of ``running`` experiments side by side: the cores split evenly, at least one."""
    return max(1, cores() // max(1, running))


def default_threads() -> int:
    """Threads of an experiment that runs alone, when the user set none: every core."""
    return share(1)


def resolve_threads(flag: int | None, running: int = 1) -> int:
    """The user's thread count, else the cores split among ``running`` experiments side by side."""
    return requested_threads(flag) or share(running)


def thread_env(threads: int) -> dict[str, str]:
    """Environment that gives every backend ``threads`` compute threads; read when the backend
    is imported. torch reads OMP_NUM_THREADS, tensorflow its TF_NUM_*OP_THREADS, XLA (jax) its
    own flags."""
    xla = [f for f in os.environ.get("XLA_FLAGS", "").split()
           if not f.startswith(("--xla_cpu_multi_thread_eigen", "intra_op_parallelism_threads"))]
    xla += [f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'}",
            f"intra_op_parallelism_threads={threads}"]
    return {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
            "OPENBLAS_NUM_THREADS": str(threads),
            "TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": "1",
            "XLA_FLAGS": " ".join(xla), "DLTP_THREADS": str(threads)}


def pin_cpus(threads: int, lane: int = 0, cpus: list[int] | None = None) -> list[int] | None:
    """Bind this process to ``cpus``, else to ``threads`` CPUs, lane ``lane``'s share of those it may
    use; None when it may use no more than that already. XLA (jax) sizes its thread pool from the
    CPU affinity and ignores its own thread flags, so binding is the one way to hold jax to a
    thread count."""
    try:
        available = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux: the thread flags are all there is
        return None
    if cpus:
        chosen = sorted(set(cpus) & set(available))
        if not chosen or len(chosen) >= len(available):
            return None
    else:
        if threads >= len(available):
            return None
        start = (lane * threads) % len(available)
        chosen = [available[(start + i) % len(available)] for i in range(threads)]
    os.sched_setaffinity(0, chosen)
    return chosen


def hold_to_threads(backend: str, threads: int, lane: int = 0, cpus: list[int] | None = None) -> None:
    """Give the backend about to be imported ``threads`` compute threads: its thread settings, and
    for jax, which ignores them, a binding to ``cpus`` (or the lane's share of the CPUs: pin_cpus)."""
    os.environ.update(thread_env(threads))
    if backend == "jax":
        pin_cpus(threads, lane, cpus)


def threads() -> int | None:
    """The thread count this process was given (None outside `dltp run`)."""
    value = os.environ.get("DLTP_THREADS")
    return int(value) if value and value.isdigit() else None


# --- importing keras -------------------------------------------------------------------------

# Installed libraries Keras imports whatever the backend, for features dltp does not use: scikit-learn
# for keras.wrappers, and jax for the Orbax checkpoint callback. Keras imports both inside
# ``try: ... except ImportError``, so hidden (Python's rule: a None entry in sys.modules stops an
# import) it goes on without them; they are importable again as soon as Keras is loaded.
UNUSED_BY_KERAS = {"sklearn": KNOWN, "jax": ("torch", "tensorflow")}  # library -> backends it is hidden on


def import_keras(backend: str):
    """Import keras (bound to ``backend``, which must be KERAS_BACKEND already) without the optional
    libraries it would import for nothing (UNUSED_BY_KERAS); a Keras that cannot do without them
    is imported with them."""
    import sys

    if "keras" in sys.modules:
        return sys.modules["keras"]
    hidden = [name for name, on in UNUSED_BY_KERAS.items() if backend in on and name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None
    try:
        import keras
    except ImportError:
        for name in [n for n in sys.modules if n == "keras" or n.startswith("keras.")]:
            del sys.modules[name]
        _unhide(hidden)
        import keras
    finally:
        _unhide(hidden)
    return keras


def _unhide(names: list[str]) -> None:
    import sys

    for name in names:
        if name in sys.modules and sys.modules[name] is None:
            del sys.modules[name]


# --- keeping tensorflow out of torch and jax processes ----------------------------------------
#
# With tensorflow installed, Keras imports it (seconds of CPU) in processes bound to torch or jax in
# two places dltp passes through: keras.utils.set_random_seed, to seed tf.data, and keras.saving, to
# recognise tensorflow's TensorShape, DType and TypeSpec while it writes a model's config. dltp uses
# none of them off tensorflow. Keras has no public switch for either (set_random_seed always seeds
# tensorflow when it can import it; serialize_keras_object always checks), so the two private
# modules' handle on tensorflow is replaced; tests/test_backends.py fails when they move.

PRIVATE_TENSORFLOW_USERS = ("keras.src.utils.rng_utils", "keras.src.saving.serialization_lib")


def keep_tensorflow_unloaded() -> list[str]:
    """Off tensorflow, stop Keras' seeding and model saving from importing tensorflow; return the
    modules changed. Python's, NumPy's and the backend's own seeds are set as before, so the same
    seed gives the same run, and models are saved as before."""
    import importlib

    import keras

    if keras.backend.backend() == "tensorflow":
        return []
    changed = []
    for name in PRIVATE_TENSORFLOW_USERS:
        try:
            module = importlib.import_module(name)
        except ImportError:  # a Keras without this module: keep its behaviour
            continue
        if hasattr(module, "tf"):
            module.tf = _Unavailable()
            changed.append(name)
    return changed


class _Unavailable:
    """Stands for Keras' lazy tensorflow module when tensorflow is not to be imported."""

    available = False


# --- device ----------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def device() -> str:
    """``cpu``, or the name of the GPU the loaded backend computes on."""
    import keras

    name = keras.backend.backend()
    try:
        if name == "torch":
            import torch

            return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
        if name == "jax":
            import jax

            first = jax.devices()[0]
            return "cpu" if first.platform == "cpu" else getattr(first, "device_kind", first.platform)
        if name == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "gpu")
    except Exception:  # a broken driver must not stop a CPU run
        return "cpu"
    return "cpu"
