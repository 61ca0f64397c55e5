"""MNIST and Fashion-MNIST from their standard files: ``mnist.npz`` or the four IDX files.

Search order: DLTP_DATA_DIR (and, for Fashion-MNIST, Debian's dataset-fashion-mnist package),
then the usual Keras download into DLTP_DATA_DIR.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dltp.data.base import ImageData, check_split, data_dir
from dltp.data.download import fetch
from dltp.data.idx import read_idx
from dltp.errors import DatasetCorrupt, DatasetUnavailable, DltpError

KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
MNIST_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
DIGIT_NAMES = [str(i) for i in range(10)]
FASHION_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def _find_idx(directory: Path) -> dict[str, Path] | None:
    """The four IDX files in ``directory`` (each plain or .gz), or None when any is missing."""
    found = {}
    for key, stem in IDX_FILES.items():
        for candidate in (directory / f"{stem}.gz", directory / stem):
            if candidate.is_file():
                found[key] = candidate
                break
        else:
            return None
    return found


def _load_idx(files: dict[str, Path]) -> dict[str, np.ndarray]:
    arrays = {key: read_idx(path, 3 if key.startswith("x") else 1) for key, path in files.items()}
    for part in ("train", "test"):
        where = f"{files['x_' + part]} / {files['y_' + part]}"
        check_split(arrays["x_" + part], arrays["y_" + part], where=where,
                    image_shape=(28, 28), num_classes=10)
    return arrays


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in IDX_FILES}
    except KeyError as exc:
        raise DatasetCorrupt(f"{path}: missing array {exc} (expects x_train, y_train, x_test, y_test)")
    except (OSError, ValueError, EOFError) as exc:
        raise DatasetCorrupt(f"{path}: not a readable .npz file: {exc}") from exc
    for part in ("train", "test"):
        check_split(arrays["x_" + part], arrays["y_" + part].astype(np.int64), where=str(path),
                    image_shape=(28, 28), num_classes=10)
    return arrays


def _as_data(name: str, arrays: dict[str, np.ndarray], names: list[str], source: str) -> ImageData:
    return ImageData(name, arrays["x_train"], arrays["y_train"].astype(np.int64),
                     arrays["x_test"], arrays["y_test"].astype(np.int64), names, source)


def _where_to_put(name: str, dirs: list[Path], npz: bool) -> str:
    files = ", ".join(f"{stem}.gz" for stem in IDX_FILES.values())
    options = f"mnist.npz or the four IDX files ({files})" if npz else f"the four IDX files ({files})"
    return f"put {options} in {dirs[0]}" + (f" (also searched: {', '.join(map(str, dirs[1:]))})" if dirs[1:] else "")


def load_mnist() -> ImageData:
    root = data_dir()
    directory = root / "mnist"
    for npz in (directory / "mnist.npz", root / "mnist.npz"):  # the latter is Keras' own cache
        if npz.is_file():
            return _as_data("mnist", _load_npz(npz), DIGIT_NAMES, str(npz))
    files = _find_idx(directory)
    if files:
        return _as_data("mnist", _load_idx(files), DIGIT_NAMES, str(directory))
    try:
        npz = fetch(KERAS_ORIGIN + "mnist.npz", directory / "mnist.npz", MNIST_NPZ_SHA256)
    except DatasetUnavailable as exc:
        raise DatasetUnavailable(
            f"MNIST is not on disk and {exc}. To use it offline, {_where_to_put('mnist', [directory, root], True)}."
        ) from exc
    return _as_data("mnist", _load_npz(npz), DIGIT_NAMES, str(npz))


def load_fashion_mnist() -> ImageData:
    root = data_dir()
    dirs = [root / "fashion_mnist", root / "fashion-mnist", DEBIAN_FASHION_DIR]
    for directory in dirs:
        files = _find_idx(directory)
        if files:
            return _as_data("fashion_mnist", _load_idx(files), FASHION_NAMES, str(directory))
    try:
        for stem in IDX_FILES.values():
            fetch(KERAS_ORIGIN + f"fashion-mnist/{stem}.gz", dirs[0] / f"{stem}.gz")
    except DatasetUnavailable as exc:
        raise DatasetUnavailable(
            f"Fashion-MNIST is not on disk and {exc}. To use it offline, "
            f"{_where_to_put('fashion_mnist', dirs, False)}; on Debian: apt-get install dataset-fashion-mnist."
        ) from exc
    files = _find_idx(dirs[0])
    if files is None:  # pragma: no cover - fetch either wrote all four or raised
        raise DltpError(f"Fashion-MNIST download incomplete in {dirs[0]}")
    return _as_data("fashion_mnist", _load_idx(files), FASHION_NAMES, str(dirs[0]))
