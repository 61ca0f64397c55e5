"""CIFAR-10 from its standard python version: ``cifar-10-python.tar.gz`` or the extracted
``cifar-10-batches-py/`` (data_batch_1..5, test_batch, batches.meta).

Searched in DLTP_DATA_DIR/cifar10/ and DLTP_DATA_DIR/ (the latter is where Keras itself caches
it); missing → downloaded from the usual URL into DLTP_DATA_DIR/cifar10/. Every batch is checked
(keys, 3,072 bytes per image, one label per image in 0..9, 10,000 images per batch in a full
download) so a truncated archive or a wrong file never becomes silently wrong data. The pickles
are read with an unpickler that only builds plain containers and NumPy arrays: a dataset file
cannot run code.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

from dltp.data.base import ImageData, check_split, data_dir
from dltp.data.download import fetch
from dltp.errors import DatasetCorrupt, DatasetUnavailable

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"  # as in keras.datasets
ARCHIVE = "cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"
CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
IMAGES_PER_BATCH = 10_000

_ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"), ("builtins", "list"),
            ("_codecs", "encode")}  # how protocol-2 pickles written by Python 3 store bytes


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _unpickle(raw: bytes, where: str) -> dict:
    try:
        obj = _SafeUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as exc:  # any unpickling failure means the file is not a CIFAR batch
        raise DatasetCorrupt(f"{where}: not a readable CIFAR-10 pickle: {exc}") from exc
    if not isinstance(obj, dict):
        raise DatasetCorrupt(f"{where}: expected a dict, found {type(obj).__name__}")
    return {(k.decode() if isinstance(k, bytes) else k): v for k, v in obj.items()}


def _batch(raw: bytes, where: str, full: bool) -> tuple[np.ndarray, np.ndarray]:
    d = _unpickle(raw, where)
    missing = {"data", "labels"} - set(d)
    if missing:
        raise DatasetCorrupt(f"{where}: missing key(s) {sorted(missing)} (a CIFAR-10 batch has data and labels)")
    data = np.asarray(d["data"])
    labels = np.asarray(d["labels"], dtype=np.int64).reshape(-1)
    if data.ndim != 2 or data.shape[1] != 3072:
        raise DatasetCorrupt(f"{where}: data has shape {data.shape}, expected (N, 3072) = 32×32×3 per image")
    if data.dtype != np.uint8:
        raise DatasetCorrupt(f"{where}: data has dtype {data.dtype}, expected uint8")
    if full and len(data) != IMAGES_PER_BATCH:
        raise DatasetCorrupt(f"{where}: {len(data)} images, a CIFAR-10 batch holds {IMAGES_PER_BATCH}")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # stored channel-first
    check_split(images, labels, where=where, image_shape=(32, 32, 3), num_classes=10)
    return np.ascontiguousarray(images), labels


def _read_members(source: Path) -> dict[str, bytes]:
    """{batch name: raw bytes} from the archive or the folder."""
    names = [*TRAIN_BATCHES, TEST_BATCH]
    if source.is_dir():
        missing = [n for n in names if not (source / n).is_file()]
        if missing:
            raise DatasetCorrupt(f"{source}: missing {', '.join(missing)}")
        return {n: (source / n).read_bytes() for n in names}
    try:
        with tarfile.open(source, "r:gz") as tar:
            out = {}
            for n in names:
                try:
                    member = tar.extractfile(f"{FOLDER}/{n}")
                except KeyError:
                    raise DatasetCorrupt(f"{source}: the archive has no {FOLDER}/{n}") from None
                out[n] = member.read()
            return out
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise DatasetCorrupt(f"{source}: not a readable .tar.gz (truncated download?): {exc}") from exc


def read_cifar10(source: Path, full: bool = True) -> ImageData:
    """Load and validate CIFAR-10 from an archive or folder; ``full`` checks the official counts."""
    raw = _read_members(source)
    parts = [_batch(raw[n], f"{source}:{n}", full) for n in TRAIN_BATCHES]
    x_test, y_test = _batch(raw[TEST_BATCH], f"{source}:{TEST_BATCH}", full)
    return ImageData("cifar10", np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                     x_test, y_test, list(CLASS_NAMES), str(source))


def candidates() -> list[Path]:
    root = data_dir()
    return [d / name for d in (root / "cifar10", root) for name in (FOLDER, ARCHIVE)]


def load_cifar10() -> ImageData:
    for path in candidates():
        if path.exists():
            return read_cifar10(path)
    dest = data_dir() / "cifar10" / ARCHIVE
    try:
        fetch(URL, dest, SHA256)
    except DatasetUnavailable as exc:
        raise DatasetUnavailable(
            f"CIFAR-10 is not on disk and {exc}. To use it offline, put {ARCHIVE} (from {URL}) or the "
            f"extracted {FOLDER}/ folder in {dest.parent} (also searched: {data_dir()})."
        ) from exc
    return read_cifar10(dest)
