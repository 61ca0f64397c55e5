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
    loader, fallback = _LOADERS[name]
    if quick and name in _QUICK_LOADERS:
        loader = _QUICK_LOADERS[name]
    try:
        return loader()
    except DatasetUnavailable as exc:
        if explicit or fallback is None:
            raise
        print(f"WARNING: {exc}\nWARNING: falling back to the bundled {fallback!r} dataset; "
              f"results are NOT comparable with {name}. Name the dataset (--dataset {name}) to "
              f"make this an error instead.", file=sys.stderr)
        data = load_images(fallback, quick=quick)
        data.fallback_from = name
        return data


def _register_builtin() -> None:
    from dltp.data.digits import load_digits
    from dltp.data.mnist import load_fashion_mnist, load_mnist

    register("mnist", load_mnist, fallback="digits")
    register("fashion_mnist", load_fashion_mnist, fallback="digits")
    register("digits", load_digits)

    from dltp.data.cifar10 import load_cifar10
    from dltp.data.shapes import load_quick_shapes, load_shapes

    register("cifar10", load_cifar10, fallback="shapes")
    register("shapes", load_shapes, quick_loader=load_quick_shapes)


_register_builtin()

__all__ = ["ImageData", "data_dir", "load_images", "names", "register"]
