import numpy as np
import pytest

from dltp.data.idx import read_idx, write_idx
from dltp.errors import DatasetCorrupt


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_round_trip_plain_and_gzip(tmp_path, name):
    array = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    path = write_idx(tmp_path / name, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    np.testing.assert_array_equal(read_idx(path, 3), array)


def test_truncated_file_names_the_file(tmp_path):
    path = write_idx(tmp_path / "x-idx3-ubyte", np.zeros((3, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetCorrupt, match="x-idx3-ubyte.*truncated"):
        read_idx(path)


def test_truncated_gzip_stream(tmp_path):
    path = write_idx(tmp_path / "x-idx3-ubyte.gz", np.random.RandomState(0).randint(0, 255, (50, 28, 28)))
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DatasetCorrupt, match="x-idx3-ubyte.gz"):
        read_idx(path)


def test_wrong_magic(tmp_path):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(b"PK\x03\x04" + bytes(20))
    with pytest.raises(DatasetCorrupt, match="magic"):
        read_idx(path)


def test_wrong_type_code_and_dimensions(tmp_path):
    path = write_idx(tmp_path / "labels-idx1-ubyte", np.zeros(5, np.uint8))
    with pytest.raises(DatasetCorrupt, match="3 dimensions|1 dimensions"):
        read_idx(path, expected_ndim=3)
    raw = bytearray(path.read_bytes())
    raw[2] = 0x0D  # float
    path.write_bytes(bytes(raw))
    with pytest.raises(DatasetCorrupt, match="unsigned byte"):
        read_idx(path)


def test_extra_bytes_are_corruption(tmp_path):
    path = write_idx(tmp_path / "labels-idx1-ubyte", np.zeros(5, np.uint8))
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(DatasetCorrupt):
        read_idx(path)


def test_not_gzip_despite_name(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    with pytest.raises(DatasetCorrupt, match="x.gz"):
        read_idx(path)
