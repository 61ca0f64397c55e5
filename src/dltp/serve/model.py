"""Loading the served model and running it fast.

``--model`` is an MLflow model URI (``models:/mnist-dense@champion``, ``runs:/ID/model``) or a local
path: a ``.keras`` file (loaded in safe mode, never through pickles), an MLflow model directory, a
directory holding ``model.keras``, or an export (``forward.npz`` or its directory). The drift
reference, ``reference_stats.json``, is looked for beside the model file or at the MLflow model's root.

``model.predict`` builds an iterator and a step function on every call (milliseconds per request),
so a chain of Dense / Dropout / BatchNormalization / Activation / Flatten / Reshape layers (TP1's
model, TP2's variations) is served as NumPy matrix products on its weights (``dltp.serve.forward``),
any other model as ``model(x, training=False)``; both give ``model.predict``'s numbers (tested).
``export`` writes the NumPy chain to ``forward.npz``, which needs neither Keras nor a backend (the
slim image). Keras, MLflow and YAML are imported only when a model needs them.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from dltp.serve import forward as numpy_forward
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
    try:
        import mlflow
        from mlflow.exceptions import MlflowException
    except ImportError:
        raise DltpError(f"model {source!r} is an MLflow URI, and MLflow is not installed here (the slim image "
                        f"serves the model exported into it: `dltp serve --export DIR` with the full "
                        f"installation)") from None

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


def served_file(path: Path) -> Path:
    """The file the service loads from ``path``: an export's ``forward.npz`` (a directory holding
    it, or the file), else the Keras file (``model_file``)."""
    if path.is_dir() and (path / numpy_forward.FORWARD_FILE).is_file():
        return path / numpy_forward.FORWARD_FILE
    if path.suffix == ".npz":
        return path
    return model_file(path)


def export(source: str, directory: str | os.PathLike) -> Path:
    """Copy the model (and its reference statistics) from ``source`` into ``directory``, with its
    NumPy forward pass in ``forward.npz`` when the model is a chain that has one.

    Returns the file the service will load from ``directory`` (``forward.npz`` when written)."""
    served = served_file(resolve(source))
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    reference = reference_file(served)
    if reference is not None:
        shutil.copyfile(reference, out / REFERENCE_FILE)
    if served.suffix == ".npz":  # an export already: nothing to compile
        shutil.copyfile(served, out / numpy_forward.FORWARD_FILE)
        return out / numpy_forward.FORWARD_FILE
    shutil.copyfile(served, out / MODEL_FILE)
    model = _load_keras(served)
    chain = chain_steps(model)
    if chain is None:  # served through Keras (direct call): needs the full installation
        return out / MODEL_FILE
    info = {k: v for k, v in _describe(model, served).items() if k != "file"}
    numpy_forward.save(out / numpy_forward.FORWARD_FILE, *chain, info)
    return out / numpy_forward.FORWARD_FILE


@dataclass
class ServedModel:
    """The model, its fast forward pass and what the service reports about it."""

    keras_model: object | None  # None when served from an export (forward.npz), without Keras
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
    path = resolve(source, cache_dir)
    file = served_file(path)
    reference = None
    ref_file = reference_file(file)
    if ref_file is not None:
        with open(ref_file) as f:
            reference = json.load(f)
    if file.suffix == ".npz":
        keras_model = None
        forward, spec = numpy_forward.load(file)
        kind = "numpy"
        spec = {**spec, "file": str(file), "backend": "none"}  # no Keras, no backend: NumPy alone
    else:
        keras_model = _load_keras(file)
        forward, kind = compile_forward(keras_model)
        spec = _describe(keras_model, file)
    input_shape = tuple(spec["input_shape"])
    if int(np.prod(input_shape)) != 784:
        raise DltpError(f"{file} expects inputs of shape {input_shape}; the service serves 28×28 images")
    info = {key: spec.get(key) for key in ("file", "name", "backend", "parameters")}
    return ServedModel(keras_model, forward, kind, label or source, reference, input_shape,
                       int(spec["num_classes"]), info)


def _load_keras(keras_file: Path):
    import keras

    try:
        return keras.saving.load_model(keras_file, compile=False, safe_mode=True)
    except Exception as exc:  # a corrupt or foreign file: say which, without a stack trace
        raise DltpError(f"cannot load {keras_file}: {exc}") from exc


def _describe(model, keras_file: Path) -> dict:
    import keras

    return {"file": str(keras_file), "name": model.name, "backend": keras.backend.backend(),
            "parameters": int(model.count_params()), "input_shape": list(model.input_shape[1:]),
            "num_classes": int(model.output_shape[-1]), "keras_version": keras.__version__}


# --- the compiled forward pass ---------------------------------------------------------------

def _step(layer, arrays: dict) -> dict | None:
    """The layer as a forward step (its arrays added to ``arrays``), or None when not a supported kind."""
    import keras

    def array(name: str, value) -> str:
        key = f"{name}{len(arrays)}"
        arrays[key] = keras.ops.convert_to_numpy(value).astype("float32")
        return key

    kind = type(layer).__name__
    if kind in ("InputLayer", "Dropout", "GaussianNoise", "GaussianDropout", "SpatialDropout1D"):
        return {"op": "identity"}  # inference mode
    if kind in ("Flatten", "Reshape"):
        return {"op": "reshape", "shape": [int(d) for d in layer.output.shape[1:]]}
    if kind == "Activation":
        name = getattr(layer.activation, "__name__", "")
        return {"op": "activation", "activation": name} if name in numpy_forward.ACTIVATIONS else None
    if kind == "Dense":
        name = getattr(layer.activation, "__name__", "")
        if (name not in numpy_forward.ACTIVATIONS or getattr(layer, "lora_enabled", False)
                or layer.dtype_policy.name != "float32"):
            return None
        return {"op": "dense", "activation": name, "kernel": array("kernel", layer.kernel),
                "bias": array("bias", layer.bias) if layer.use_bias else None}
    if kind == "BatchNormalization" and layer.axis in (-1, len(layer.input.shape) - 1):
        return {"op": "batchnorm", "epsilon": float(layer.epsilon),
                "mean": array("mean", layer.moving_mean), "variance": array("variance", layer.moving_variance),
                "gamma": array("gamma", layer.gamma) if layer.scale else None,
                "beta": array("beta", layer.beta) if layer.center else None}
    return None


def chain_steps(model) -> tuple[list[dict], dict] | None:
    """The forward steps and arrays of ``model`` when it is a chain of supported layers, else None."""
    layers = list(model.layers)
    if not (hasattr(model, "inputs") and len(model.inputs) == 1 and len(model.outputs) == 1) or not layers:
        return None
    sequential = type(model).__name__ == "Sequential"  # a chain by construction (its tensors may be rebuilt)
    steps, arrays = [], {}
    for i, layer in enumerate(layers):
        if i and not sequential and layer.input is not layers[i - 1].output:
            return None
        step = _step(layer, arrays)
        if step is None:
            return None
        if step["op"] != "identity":
            steps.append(step)
    if not sequential and layers[-1].output is not model.outputs[0]:
        return None
    return steps, arrays


def compile_forward(model) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    """A fast inference function of ``model``: ("numpy", f) for a supported chain, else a direct call."""
    chain = chain_steps(model)
    if chain is not None:
        return numpy_forward.build(*chain), "numpy"

    import keras

    def call(x: np.ndarray) -> np.ndarray:
        return np.asarray(keras.ops.convert_to_numpy(model(x, training=False)))
    return call, "direct-call"
