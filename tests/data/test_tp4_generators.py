import numpy as np
import pytest

from dltp.data.circles import VARIANTS, disc_mask, load_circles, make_circles
from dltp.data.volumes import load_volumes
from dltp.errors import DltpError


def test_circles_original_recipe_is_seeded_and_noisy():
    d = load_circles(n_train=20, n_val=5, seed=3)
    assert d.x_train.shape == (20, 128, 128, 1) and d.y_val.shape == (5, 128, 128, 1)
    assert set(np.unique(d.y_train)) == {0.0, 1.0}
    noise = d.x_train - d.y_train  # contrast 1: image = mask + noise
    assert abs(noise.std() - 0.1) < 0.005 and abs(noise.mean()) < 0.005
    again = load_circles(n_train=20, n_val=5, seed=3)
    np.testing.assert_array_equal(d.x_train, again.x_train)
    assert not np.array_equal(d.x_train, load_circles(n_train=20, n_val=5, seed=4).x_train)


def test_one_disc_per_image_with_the_drawn_radius():
    from scipy import ndimage

    _, y = make_circles(10, rng=np.random.default_rng(0))
    for mask in y[..., 0]:
        _, count = ndimage.label(mask)
        assert count == 1
        assert np.pi * 9.5 ** 2 < mask.sum() < np.pi * 30.5 ** 2


def test_harder_variants_differ_as_named():
    base = load_circles("circles", n_train=30, n_val=1)
    small = load_circles("small", n_train=30, n_val=1)
    faint = load_circles("faint", n_train=30, n_val=1)
    multi = load_circles("multi", n_train=30, n_val=1)
    assert small.y_train.mean() < base.y_train.mean() / 5
    assert faint.x_train[faint.y_train == 1].mean() == pytest.approx(0.25, abs=0.02)
    from scipy import ndimage

    assert np.mean([ndimage.label(m)[1] for m in multi.y_train[..., 0]]) > 1.5
    assert set(VARIANTS) == {"circles", "multi", "small", "faint"}
    with pytest.raises(DltpError, match="unknown segmentation variant"):
        load_circles("squares")


def test_disc_mask_area():
    assert disc_mask(64, (32, 32), 10).sum() == pytest.approx(np.pi * 100, rel=0.03)


def test_volumes_balanced_same_volume_shapes():
    d = load_volumes(n_train=40, n_val=20, size=32, seed=1)
    assert d.x_train.shape == (40, 32, 32, 32, 1) and d.class_names == ["sphere", "cube"]
    assert d.y_train.sum() == 20 and d.y_val.sum() == 10
    # sphere and cube of about the same volume: brightness alone does not tell them apart
    totals = d.x_train[..., 0].sum(axis=(1, 2, 3))
    spheres, cubes = totals[d.y_train == 0], totals[d.y_train == 1]
    assert abs(spheres.mean() - cubes.mean()) < 0.3 * spheres.mean()
    np.testing.assert_array_equal(d.x_val, load_volumes(n_train=40, n_val=20, size=32, seed=1).x_val)
