"""Datasets by name, with the resolution and fallback rules of DESIGN.md.

``load_images(None)`` means "the lab's default dataset, whatever works": if its files are missing
and cannot be downloaded, a bundled or generated stand-in is used *loudly* (warning on stderr, and
``ImageData.fallback_from`` set so the run is tagged). ``load_images("mnist")`` means the user asked
for MNIST: then a missing dataset is an error that says where to put the files.
"""

from __future__ import annotations

import sys
from typing import Callable

from dltp.data.base import ImageData, data_dir
from dltp.errors import DatasetUnavailable, DltpError

# name -> (loader, offline stand-in). Labs add their own datasets with `register`.
_LOADERS: dict[str, tuple[Callable[[], ImageData], str | None]] = {}
# name -> the loader of a smaller problem of the same kind, for quick budgets (generated data only).
_QUICK_LOADERS: dict[str, Callable[[], ImageData]] = {}


def register(name: str, loader: Callable[[], ImageData], fallback: str | None = None,
             quick_loader: Callable[[], ImageData] | None = None) -> None:
    _LOADERS[name] = (loader, fallback)
    if quick_loader is not None:
        _QUICK_LOADERS[name] = quick_loader


def names() -> list[str]:
    return sorted(_LOADERS)


def load_images(name: str | None, default: str = "mnist", *, quick: bool = False) -> ImageData:
    """``quick``: a dataset with a quick form (generated shapes) comes in that smaller form."""
    explicit = name is not None
    name = (name or default).replace("-", "_")
    if name not in _LOADERS:
        raise DltpError(f"unknown dataset {name!r}; known datasets: {', '.join(names())}")
    try:
        return _load(name, quick)
    except DatasetUnavailable as exc:
        if explicit or _LOADERS[name][1] is None:
            raise
        reasons = [str(exc)]
    data = _stand_in(_LOADERS[name][1], quick, reasons)
    print("\n".join(f"WARNING: {reason}" for reason in reasons)
          + f"\nWARNING: falling back to the bundled {data.name!r} dataset ({data.source}); results are NOT "
            f"comparable with {name}. Name the dataset (--dataset {name}) to make this an error instead.",
          file=sys.stderr)
    data.fallback_from = name
    return data


def _load(name: str, quick: bool) -> ImageData:
    if quick and name in _QUICK_LOADERS:
        return _QUICK_LOADERS[name]()
    return _LOADERS[name][0]()


def _stand_in(name: str, quick: bool, reasons: list[str]) -> ImageData:
    """The first stand-in of the chain that loads (mnist → mnist_5k → digits); ``reasons`` gets why
    each one before it could not."""
    try:
        return _load(name, quick)
    except DatasetUnavailable as exc:
        if _LOADERS[name][1] is None:
            raise
        reasons.append(f"{name}: {exc}")
        return _stand_in(_LOADERS[name][1], quick, reasons)


def _register_builtin() -> None:
    from dltp.data.digits import load_digits, load_mnist_5k
    from dltp.data.mnist import load_fashion_mnist, load_mnist

    # Offline, MNIST falls back to real MNIST digits that a package ships, and only then to
    # scikit-learn's 8×8 digits.
    register("mnist", load_mnist, fallback="mnist_5k")
    register("fashion_mnist", load_fashion_mnist, fallback="mnist_5k")
    register("mnist_5k", load_mnist_5k, fallback="digits")
    register("digits", load_digits)

    from dltp.data.cifar10 import load_cifar10
    from dltp.data.shapes import load_quick_shapes, load_shapes

    register("cifar10", load_cifar10, fallback="shapes")
    register("shapes", load_shapes, quick_loader=load_quick_shapes)


_register_builtin()

__all__ = ["ImageData", "data_dir", "load_images", "names", "register"]
