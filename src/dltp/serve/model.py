"""Loading the served model and running it fast.

``--model`` is either an MLflow model URI (``models:/mnist-dense@champion``, ``runs:/ID/model``)
or a local path (a ``.keras`` file, an MLflow model directory, or a directory holding
``model.keras``). The file is loaded by Keras in safe mode, never through pickles. The training
reference for drift monitoring, ``reference_stats.json``, is looked for beside the model file or
at the MLflow model's root, beside ``MLmodel`` (where TP1 logs it).

Speed: ``model.predict`` builds a dataset iterator and a step function on every call, which
costs milliseconds per request. The server instead compiles a minimal forward pass once:
for a chain of Dense / Dropout / BatchNormalization / Activation / Flatten / Reshape layers
(TP1's model and TP2's variations) it is a few NumPy matrix products on the layer weights; any
other model is called directly in inference mode, ``model(x, training=False)``. Both give
``model.predict``'s numbers (the tests compare them).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from dltp.errors import DltpError

MODEL_FILE = "model.keras"
MLMODEL_FILE = "MLmodel"
REFERENCE_FILE = "reference_stats.json"


def is_local(source: str) -> bool:
    return "://" not in source.split("?")[0] and not source.startswith(("models:", "runs:"))


def resolve(source: str, cache_dir: str | os.PathLike | None = None) -> Path:
    """A local path holding the model: ``source`` itself, or the MLflow artifacts downloaded."""
    if is_local(source):
        path = Path(source).expanduser()
        if not path.exists():
            raise DltpError(f"model {source!r} not found (give a .keras file, a directory holding "
                            f"{MODEL_FILE}, or an MLflow URI such as models:/mnist-dense@champion)")
        return path
    import mlflow
    from mlflow.exceptions import MlflowException

    from dltp import tracking

    tracking.setup()
    try:
        local = mlflow.artifacts.download_artifacts(
            source, dst_path=str(cache_dir) if cache_dir is not None else None)
    except (MlflowException, OSError) as exc:
        raise DltpError(f"cannot load model {source!r} from the MLflow store {tracking.tracking_uri()}: "
                        f"{str(exc).splitlines()[0]}") from exc
    return Path(local)


def model_file(path: Path) -> Path:
    """The ``.keras`` file of ``path``: an MLflow model directory (MLmodel with the Keras flavor),
    a directory holding ``model.keras`` (registrations before the MLflow format), or the file."""
    if path.is_dir():
        if (path / MLMODEL_FILE).is_file():
            return _mlflow_keras_file(path)
        candidates = [path / MODEL_FILE] + sorted(path.glob("*.keras"))
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        raise DltpError(f"no {MODEL_FILE} in {path}: re-register the model with `dltp run tp1`, which logs it "
                        f"in MLflow's model format")
    if path.suffix != ".keras":
        raise DltpError(f"{path} is not a .keras model file")
    return path


def _mlflow_keras_file(path: Path) -> Path:
    """The Keras file of an MLflow model directory (``flavors.keras.data``/model.keras)."""
    import yaml

    try:
        flavors = (yaml.safe_load((path / MLMODEL_FILE).read_text()) or {}).get("flavors") or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DltpError(f"cannot read {path / MLMODEL_FILE}: {exc}") from exc
    keras_flavor = flavors.get("keras")
    if not isinstance(keras_flavor, dict):
        raise DltpError(f"the MLflow model in {path} has no Keras flavor (flavors: {', '.join(flavors) or 'none'}); "
                        f"dltp serve serves Keras models: re-register it with `dltp run tp1`")
    if keras_flavor.get("save_exported_model"):
        raise DltpError(f"the MLflow model in {path} is a TensorFlow export, not a .keras file")
    data = path / str(keras_flavor.get("data", "data"))
    keras_file = data / MODEL_FILE if data.is_dir() else data.with_suffix(".keras")
    if not keras_file.is_file():
        raise DltpError(f"the MLflow model in {path} has no {keras_file.relative_to(path)}")
    return keras_file


def reference_file(keras_file: Path) -> Path | None:
    """The drift reference statistics beside the model: next to the file, or at the MLflow model's root."""
    for directory in (keras_file.parent, keras_file.parent.parent):
        if (directory / REFERENCE_FILE).is_file() and (directory == keras_file.parent
                                                       or (directory / MLMODEL_FILE).is_file()):
            return directory / REFERENCE_FILE
    return None


def export(source: str, directory: str | os.PathLike) -> Path:
    """Copy the model (and its reference statistics) from ``source`` into ``directory``."""
    path = resolve(source)
    keras_file = model_file(path)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(keras_file, out / MODEL_FILE)
    reference = reference_file(keras_file)
    if reference is not None:
        shutil.copyfile(reference, out / REFERENCE_FILE)
    return out / MODEL_FILE


@dataclass
class ServedModel:
    """The model, its fast forward pass and what the service reports about it."""

    keras_model: object
    forward: Callable[[np.ndarray], np.ndarray]
    forward_kind: str
    source: str
    reference: dict | None = None
    input_shape: tuple = (784,)
    num_classes: int = 10
    info: dict = field(default_factory=dict)

    def predict_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """(N, 784) pixel values 0-255 → (N, classes) probabilities, TP1's preprocessing."""
        x = pixels.astype("float32") / 255.0
        return self.forward(x.reshape((len(x), *self.input_shape)))


def load(source: str, cache_dir: str | os.PathLike | None = None, label: str | None = None) -> ServedModel:
    """Load ``source`` (``label``: how the service names it, e.g. the MLflow URI it came from)."""
    import keras

    path = resolve(source, cache_dir)
    keras_file = model_file(path)
    try:
        model = keras.saving.load_model(keras_file, compile=False, safe_mode=True)
    except Exception as exc:  # a corrupt or foreign file: say which, without a stack trace
        raise DltpError(f"cannot load {keras_file}: {exc}") from exc
    reference = None
    ref_file = reference_file(keras_file)
    if ref_file is not None:
        with open(ref_file) as f:
            reference = json.load(f)
    input_shape = tuple(model.input_shape[1:])
    if int(np.prod(input_shape)) != 784:
        raise DltpError(f"{keras_file} expects inputs of shape {input_shape}; the service serves 28×28 images")
    forward, kind = compile_forward(model)
    return ServedModel(model, forward, kind, label or source, reference, input_shape, int(model.output_shape[-1]),
                       {"file": str(keras_file), "name": model.name, "backend": keras.backend.backend(),
                        "parameters": int(model.count_params())})


# --- the compiled forward pass ---------------------------------------------------------------

def _activation(name: str):
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


def _numpy_step(layer):
    """The layer as a NumPy function of its input, or None when it is not a supported kind."""
    import keras

    kind = type(layer).__name__
    if kind in ("InputLayer", "Dropout", "GaussianNoise", "GaussianDropout", "SpatialDropout1D"):
        return lambda x: x  # inference mode: identity
    if kind in ("Flatten", "Reshape"):
        shape = tuple(layer.output.shape[1:])
        return lambda x: x.reshape((len(x), *shape))
    if kind == "Activation":
        return _activation(getattr(layer.activation, "__name__", ""))
    if kind == "Dense":
        act = _activation(getattr(layer.activation, "__name__", ""))
        if act is None or getattr(layer, "lora_enabled", False) or layer.dtype_policy.name != "float32":
            return None
        w = keras.ops.convert_to_numpy(layer.kernel).astype("float32")
        b = keras.ops.convert_to_numpy(layer.bias).astype("float32") if layer.use_bias else None
        if b is None:
            return lambda x: act(x @ w)
        return lambda x: act(x @ w + b)
    if kind == "BatchNormalization" and layer.axis in (-1, len(layer.input.shape) - 1):
        mean = keras.ops.convert_to_numpy(layer.moving_mean).astype("float32")
        var = keras.ops.convert_to_numpy(layer.moving_variance).astype("float32")
        gamma = keras.ops.convert_to_numpy(layer.gamma).astype("float32") if layer.scale else 1.0
        beta = keras.ops.convert_to_numpy(layer.beta).astype("float32") if layer.center else 0.0
        eps = np.float32(layer.epsilon)
        return lambda x: ((x - mean) / np.sqrt(var + eps)) * gamma + beta
    return None


def compile_forward(model) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    """A fast inference function of ``model``: ("numpy", f) for a supported chain, else a direct call."""
    import keras

    layers = list(model.layers)
    steps = []
    chain = hasattr(model, "inputs") and len(model.inputs) == 1 and len(model.outputs) == 1
    for i, layer in enumerate(layers if chain else []):
        if i and layer.input is not layers[i - 1].output:
            chain = False
            break
        step = _numpy_step(layer)
        if step is None:
            chain = False
            break
        steps.append(step)
    if chain and steps and layers[-1].output is model.outputs[0]:
        def forward(x: np.ndarray) -> np.ndarray:
            x = x.astype("float32", copy=False)
            for step in steps:
                x = step(x)
            return x
        return forward, "numpy"

    def call(x: np.ndarray) -> np.ndarray:
        return np.asarray(keras.ops.convert_to_numpy(model(x, training=False)))
    return call, "direct-call"
