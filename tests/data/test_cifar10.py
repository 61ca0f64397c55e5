"""The CIFAR-10 loader on tiny batches written in the real format (python pickles, .tar.gz)."""

import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

from dltp.data import load_images
from dltp.data.cifar10 import FOLDER, TEST_BATCH, TRAIN_BATCHES, read_cifar10
from dltp.errors import DatasetCorrupt, DatasetUnavailable


def batch(n, seed, labels=None, width=3072):
    rng = np.random.default_rng(seed)
    labels = list(rng.integers(0, 10, n)) if labels is None else labels
    return {b"batch_label": b"x", b"labels": [int(v) for v in labels],
            b"data": rng.integers(0, 256, (n, width), dtype=np.uint8), b"filenames": [b"f"] * n}


def write_folder(root: Path, n=8, **overrides) -> Path:
    folder = root / FOLDER
    folder.mkdir(parents=True)
    for i, name in enumerate([*TRAIN_BATCHES, TEST_BATCH]):
        content = overrides.get(name, batch(n, i))
        (folder / name).write_bytes(content if isinstance(content, bytes) else pickle.dumps(content, protocol=2))
    return folder


def write_tar(folder: Path, dest: Path) -> Path:
    with tarfile.open(dest, "w:gz") as tar:
        tar.add(folder, arcname=FOLDER)
    return dest


def data_dir() -> Path:
    return Path(os.environ["DLTP_DATA_DIR"])


def test_folder_loads_channel_last_images():
    folder = write_folder(data_dir() / "cifar10")
    first = pickle.loads((folder / "data_batch_1").read_bytes())
    data = read_cifar10(folder, full=False)
    assert data.x_train.shape == (40, 32, 32, 3) and data.x_test.shape == (8, 32, 32, 3)
    # stored as 1024 red, 1024 green, 1024 blue values per image
    np.testing.assert_array_equal(data.x_train[0, :, :, 1], first[b"data"][0, 1024:2048].reshape(32, 32))
    assert data.y_train[:8].tolist() == first[b"labels"]
    assert data.class_names[0] == "airplane"


def test_tar_gz_in_cache_is_found_and_full_counts_are_checked(tmp_path):
    write_tar(write_folder(tmp_path / "src"), data_dir() / "cifar-10-python.tar.gz")
    # a real download has 10,000 images per batch: a tiny archive is reported, not used
    with pytest.raises(DatasetCorrupt, match="8 images, a CIFAR-10 batch holds 10000"):
        load_images("cifar10")
    data = read_cifar10(data_dir() / "cifar-10-python.tar.gz", full=False)
    assert len(data.x_train) == 40


def test_truncated_archive_is_corrupt(tmp_path):
    archive = write_tar(write_folder(tmp_path / "src"), tmp_path / "c.tar.gz")
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(DatasetCorrupt, match="truncated"):
        read_cifar10(archive, full=False)


@pytest.mark.parametrize("override, message", [
    ({"data_batch_2": {b"labels": [1]}}, "missing key"),
    ({"data_batch_3": batch(8, 0, width=1024)}, r"\(N, 3072\)"),
    ({"test_batch": batch(8, 0, labels=[0, 1, 2, 3, 4, 5, 6, 10])}, "labels range 0..10"),
    ({"data_batch_1": {**batch(8, 0), b"labels": [1, 2]}}, "8 images but 2 labels"),
    ({"data_batch_5": b"not a pickle"}, "not a readable CIFAR-10 pickle"),
])
def test_corrupt_batches_are_named(override, message):
    folder = write_folder(data_dir(), **override)
    with pytest.raises(DatasetCorrupt, match=message):
        read_cifar10(folder, full=False)


def test_pickle_that_would_run_code_is_refused():
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    folder = write_folder(data_dir(), test_batch=pickle.dumps(Evil()))
    with pytest.raises(DatasetCorrupt, match="refusing to load"):
        read_cifar10(folder, full=False)


def test_missing_batch_file(tmp_path):
    folder = write_folder(data_dir())
    (folder / "data_batch_4").unlink()
    with pytest.raises(DatasetCorrupt, match="data_batch_4"):
        read_cifar10(folder, full=False)


def test_offline_default_falls_back_to_shapes_but_named_dataset_is_an_error(capsys):
    data = load_images(None, default="cifar10")
    err = capsys.readouterr().err
    assert "WARNING" in err and "shapes" in err and "cifar-10-python.tar.gz" in err
    assert data.name == "shapes" and data.fallback_from == "cifar10"
    assert data.x_train.shape[1:] == (32, 32, 3) and data.num_classes == 10
    assert set(np.unique(data.y_test)) == set(range(10))
    with pytest.raises(DatasetUnavailable, match="put cifar-10-python.tar.gz"):
        load_images("cifar10")


def test_shapes_are_seeded():
    from dltp.data.shapes import generate

    a, ya = generate(20, seed=3)
    b, yb = generate(20, seed=3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a, generate(20, seed=4)[0])
