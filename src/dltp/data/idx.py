"""Reading and writing the IDX format used by MNIST and Fashion-MNIST (plain or gzip-compressed).

Header: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions, then one
big-endian int32 per dimension. Every check below names the file, so a truncated download or a
wrong file never turns into silently wrong data.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from dltp.errors import DatasetCorrupt

_UBYTE = 0x08


def _open(path: Path):
    with open(path, "rb") as probe:
        gz = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gz else open(path, "rb")


def read_idx(path: str | Path, expected_ndim: int | None = None) -> np.ndarray:
    path = Path(path)
    try:
        with _open(path) as f:
            data = f.read()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DatasetCorrupt(f"{path}: cannot be read as (gzip) IDX: {exc}") from exc
    if len(data) < 4 or data[0:2] != b"\x00\x00":
        raise DatasetCorrupt(f"{path}: wrong magic number (not an IDX file)")
    type_code, ndim = data[2], data[3]
    if type_code != _UBYTE:
        raise DatasetCorrupt(f"{path}: IDX type 0x{type_code:02x} is not unsigned byte (0x08)")
    if expected_ndim is not None and ndim != expected_ndim:
        raise DatasetCorrupt(f"{path}: IDX has {ndim} dimensions, expected {expected_ndim}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetCorrupt(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = int(np.prod(shape, dtype=np.int64))
    if len(data) - header != expected:
        raise DatasetCorrupt(
            f"{path}: header announces {expected} bytes of data for shape {shape}, "
            f"file holds {len(data) - header} (truncated or corrupt)"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write a uint8 array as IDX; gzip when the name ends in .gz (or ``compress`` says so)."""
    path = Path(path)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, _UBYTE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    compress = path.suffix == ".gz" if compress is None else compress
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())
    return path
