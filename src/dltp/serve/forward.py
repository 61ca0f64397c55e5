"""The served model's forward pass in NumPy alone, and its file (``forward.npz``).

A chain of Dense / BatchNormalization / Activation / Reshape steps (TP1's model and TP2's
variations; Dropout-like layers are the identity at inference) is a list of *steps*, each a small
dict naming its operation and the arrays it uses. ``dltp.serve.model`` reads the steps off a Keras
model; ``save`` writes them with their arrays into one ``.npz`` file (the step list as a JSON
string, every array by name; no pickles), which ``load`` reads back with NumPy only. Both build
the same function with ``build``, so a service that loaded the Keras file and one that loaded the
export answer alike. This module imports nothing but NumPy: it is what the slim image runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np

from dltp.errors import DltpError

FORWARD_FILE = "forward.npz"
FORMAT = "dltp-forward"
VERSION = 1
ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax")


def activation(name: str) -> Callable[[np.ndarray], np.ndarray] | None:
    if name == "linear":
        return lambda z: z
    if name == "relu":
        return lambda z: np.maximum(z, 0, dtype=z.dtype)
    if name == "sigmoid":
        return lambda z: (1.0 / (1.0 + np.exp(-z))).astype(z.dtype)
    if name == "tanh":
        return np.tanh
    if name == "softmax":
        def softmax(z):
            e = np.exp(z - z.max(axis=-1, keepdims=True))
            return e / e.sum(axis=-1, keepdims=True)
        return softmax
    return None


def _step_function(step: dict, arrays) -> Callable[[np.ndarray], np.ndarray]:
    op = step["op"]
    if op == "reshape":
        shape = tuple(step["shape"])
        return lambda x: x.reshape((len(x), *shape))
    if op == "activation":
        return activation(step["activation"])
    if op == "dense":
        act = activation(step["activation"])
        w = np.ascontiguousarray(arrays[step["kernel"]], dtype=np.float32)
        if step.get("bias") is None:
            return lambda x: act(x @ w)
        b = np.ascontiguousarray(arrays[step["bias"]], dtype=np.float32)
        return lambda x: act(x @ w + b)
    if op == "batchnorm":
        mean = arrays[step["mean"]].astype(np.float32)
        std = np.sqrt(arrays[step["variance"]].astype(np.float32) + np.float32(step["epsilon"]))
        gamma = arrays[step["gamma"]].astype(np.float32) if step.get("gamma") else np.float32(1.0)
        beta = arrays[step["beta"]].astype(np.float32) if step.get("beta") else np.float32(0.0)
        return lambda x: ((x - mean) / std) * gamma + beta
    raise DltpError(f"unknown forward step {op!r}")


def build(steps: list[dict], arrays) -> Callable[[np.ndarray], np.ndarray]:
    """The forward function of ``steps``: float32 (N, ...) inputs → (N, classes) outputs."""
    functions = [_step_function(step, arrays) for step in steps]

    def forward(x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float32, copy=False)
        for f in functions:
            x = f(x)
        return x
    return forward


def save(path: str | Path, steps: list[dict], arrays: dict[str, np.ndarray], info: dict) -> Path:
    """Write the steps, their arrays and what the service reports (``info``) into ``path``."""
    spec = {"format": FORMAT, "version": VERSION, "steps": steps, **info}
    path = Path(path)
    with open(path, "wb") as f:
        np.savez(f, __spec__=np.array(json.dumps(spec)), **{k: np.asarray(v, np.float32) for k, v in arrays.items()})
    return path


def load(path: str | Path) -> tuple[Callable[[np.ndarray], np.ndarray], dict]:
    """The forward function saved in ``path`` and its spec (input shape, classes, name, ...)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            spec = json.loads(str(npz["__spec__"]))
            arrays = {k: npz[k] for k in npz.files if k != "__spec__"}
    except (OSError, ValueError, KeyError) as exc:
        raise DltpError(f"cannot read {path}: not a forward file written by `dltp serve --export` ({exc})") from None
    if spec.get("format") != FORMAT or spec.get("version") != VERSION:
        raise DltpError(f"{path} is not a {FORMAT} file of version {VERSION}: export the model again "
                        f"with `dltp serve --export`")
    try:
        return build(spec["steps"], arrays), spec
    except KeyError as exc:
        raise DltpError(f"{path} names an array it does not hold: {exc}") from None
