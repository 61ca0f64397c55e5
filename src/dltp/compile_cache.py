"""Compiled programs kept on disk between runs: jax's persistent compilation cache.

On jax every training, evaluation and prediction step is an XLA program compiled on first use. With
the cache on (the default), each compiled program is written to ``cache_dir()/jax``
(dltp.config.cache_dir) and the next process that needs the same program loads it instead.
``DLTP_COMPILATION_CACHE=0`` turns it off. Processes side by side share the directory: jax reads and
writes it under a file lock, which it takes when the cache has a size bound (MAX_BYTES, least
recently used entries first out). A directory that cannot be created or written turns the cache off
for the process with one warning; an entry that cannot be read is compiled again, with jax's warning.
"""

# torch and tensorflow have nothing to keep here: Keras compiles nothing on torch (jit_compile "auto"
# means eager there), nor on tensorflow without a GPU (Keras turns XLA off on CPU-only machines), and
# tensorflow's traced graphs live only in the process that traced them.

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from dltp.config import cache_dir

SWITCH = "DLTP_COMPILATION_CACHE"  # "0", "false", "no" or "off": compile every program
MAX_BYTES = 2 * 1024**3

_state: dict = {"directory": None, "tried": False, "programs": 0, "loaded": 0}


def wanted() -> bool:
    """Whether the user left the cache on (DLTP_COMPILATION_CACHE)."""
    return os.environ.get(SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


def directory() -> Path:
    return cache_dir() / "jax"


def unusable(path: Path) -> str | None:
    """Why ``path`` cannot hold the cache (it cannot be created, or a file cannot be written in it), or None."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    return None


def enable(backend: str) -> Path | None:
    """Turn the cache on in this process for ``backend``, before its first compilation; return the
    directory, or None when it stays off (another backend, switched off, or an unusable directory).
    Called once per process; later calls return the first answer."""
    if backend != "jax" or not wanted():
        return None
    if _state["tried"]:
        return _state["directory"]
    _state["tried"] = True
    path = directory()
    reason = unusable(path)
    if reason:
        print(f"WARNING: the compilation cache is off, every program is compiled ({reason}); set DLTP_CACHE_DIR "
              f"to a writable directory, or {SWITCH}=0 to turn the cache off", file=sys.stderr)
        return None
    import jax

    jax.config.update("jax_compilation_cache_dir", str(path))
    # Every program, however small or quick to compile: a quick run is made of small ones.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    jax.config.update("jax_compilation_cache_max_size", MAX_BYTES)  # a bound: jax then locks the directory
    jax.monitoring.register_event_listener(_count_event)
    jax.monitoring.register_event_duration_secs_listener(_count_duration)
    _state["directory"] = path
    return path


def _count_event(event: str, **_) -> None:
    if event == "/jax/compilation_cache/cache_hits":
        _state["loaded"] += 1


def _count_duration(event: str, seconds: float, **_) -> None:
    if event == "/jax/core/compile/backend_compile_duration":  # every program, compiled or loaded
        _state["programs"] += 1


def counts() -> dict[str, int] | None:
    """Programs this process has needed so far and how many of them came from the cache (None while
    the cache is off)."""
    if _state["directory"] is None:
        return None
    return {"programs": _state["programs"], "loaded": _state["loaded"]}


def since(before: dict[str, int] | None) -> dict[str, int] | None:
    """What ``counts()`` gained since ``before``: one experiment's programs, and those loaded."""
    now = counts()
    if now is None:
        return None
    before = before or {"programs": 0, "loaded": 0}
    programs, loaded = now["programs"] - before["programs"], now["loaded"] - before["loaded"]
    return {"programs": programs, "loaded": loaded, "compiled": programs - loaded}
