"""Turning a request body into pixels, or into a clear client error (never a 500).

Accepted bodies for ``POST /predict``:

- ``application/json`` ``{"image": [784 numbers 0-255]}`` (the original contract), or the same
  image as 28 rows of 28 numbers;
- ``application/json`` ``{"images": [image, ...]}``: a batch of up to ``MAX_BATCH`` images;
- ``image/png`` or ``image/jpeg`` as the raw body, or a ``multipart/form-data`` upload in a field
  named ``file``: a photo or drawing of one digit, converted MNIST-style (grey-scale, a light
  background inverted, the digit cropped, scaled to fit 20×20 and centred by its centre of mass
  in 28×28).
"""

from __future__ import annotations

import io
import json
import math

import numpy as np

SIDE = 28
PIXELS = SIDE * SIDE
MAX_BATCH = 64
MAX_BODY_BYTES = 2 * 1024 * 1024  # above this: 413
MAX_IMAGE_PIXELS = 25_000_000  # a decoded upload larger than this (e.g. a decompression bomb): 400
IMAGE_TYPES = ("image/png", "image/jpeg")


class InputError(Exception):
    """A client error: HTTP ``status`` with a message that says what to fix."""

    def __init__(self, message: str, status: int = 400, reason: str = "bad_input"):
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason


def _reject_constant(name: str):
    raise InputError(f"{name} is not a number: pixel values must be finite numbers 0-255", reason="not_finite")


def parse_json(body: bytes) -> object:
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except InputError:
        raise
    except RecursionError:
        raise InputError("the JSON body is nested too deeply", reason="bad_json") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"the body is not valid JSON ({exc})", reason="bad_json") from None


_NUMBER_TYPES = {int, float}


def _row(values, where: str):
    """The values of one row as numbers 0-255, or an InputError naming the first bad one."""
    if set(map(type, values)) <= _NUMBER_TYPES:  # fast path: plain numbers (bool is not int here)
        try:
            arr = np.array(values, dtype=np.float64)
        except OverflowError:  # an integer beyond float range: the slow path names it
            arr = None
        if arr is not None and np.all(np.isfinite(arr)) and arr.min(initial=0) >= 0 and arr.max(initial=0) <= 255:
            return arr
    out = []
    for j, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InputError(f"{where}[{j}] is {type(v).__name__} {_short(v)}: pixel values must be numbers 0-255",
                             reason="not_a_number")
        if isinstance(v, float) and not math.isfinite(v):
            raise InputError(f"{where}[{j}] is not finite", reason="not_finite")
        if not 0 <= v <= 255:
            raise InputError(f"{where}[{j}] = {_short(v)} is outside 0-255", reason="out_of_range")
        out.append(v)
    return out


def plain_numbers(body: bytes) -> bool:
    """Whether a JSON body can hold nothing but numbers besides its one key: no string other than
    that key (exactly two quotes), no ``true``, ``false`` or ``null`` (no ``t``, ``f`` or ``n`` at
    all: the keys ``image`` and ``images`` have none). Then NumPy can take its lists whole (a bool
    would otherwise pass as 0 or 1), and only the shape and range are left to check. Single-byte
    searches (memchr) keep it well under a microsecond for a 3 kB body."""
    if body.find(b"t") >= 0 or body.find(b"f") >= 0 or body.find(b"n") >= 0:
        return False
    first = body.find(b'"')
    second = body.find(b'"', first + 1) if first >= 0 else -1
    return second > 0 and body.find(b'"', second + 1) < 0


def pixel_array(value, shapes: tuple) -> np.ndarray | None:
    """``value`` (lists of plain numbers) as a float64 array when it has one of ``shapes`` and every
    value is in 0-255, else None (the caller's slow path then says what is wrong)."""
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return None
    if arr.shape[1:] not in shapes or not arr.size:
        return None
    # 0 <= every value <= 255 in one reduction: read as unsigned integers, the bits of non-negative
    # doubles keep their order, and those of negative ones (sign bit), NaN and infinities are all
    # above 255.0's. (-0.0 too: it goes the slow way, which accepts it.)
    if _MAX(arr.view(np.uint64), axis=None) > _BITS_255:
        return None
    return arr


_MAX = np.maximum.reduce  # arr.max() without its Python wrapper
_BITS_255 = np.array(255.0).view(np.uint64)


def _short(v) -> str:
    text = json.dumps(v) if not isinstance(v, float) else repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def image_pixels(image, where: str = "image") -> np.ndarray:
    """784 numbers, or 28 rows of 28 numbers → a (784,) float64 vector of values 0-255."""
    if not isinstance(image, list):
        raise InputError(f"{where} must be a list of {PIXELS} numbers or {SIDE} rows of {SIDE}, "
                         f"not {type(image).__name__}", reason="bad_shape")
    if len(image) == PIXELS:
        values = _row(image, where)
    elif len(image) == SIDE and all(isinstance(r, list) for r in image):
        rows = []
        for i, r in enumerate(image):
            if len(r) != SIDE:
                raise InputError(f"{where}[{i}] has {len(r)} values; each of the {SIDE} rows needs {SIDE}",
                                 reason="bad_shape")
            rows.append(np.asarray(_row(r, f"{where}[{i}]"), dtype=np.float64))
        values = np.concatenate(rows)
    else:
        raise InputError(f"{where} has {len(image)} values; expected {PIXELS} numbers "
                         f"or {SIDE} rows of {SIDE}", reason="bad_shape")
    return np.asarray(values, dtype=np.float64)


def json_pixels(payload, plain: bool = False) -> tuple[np.ndarray, bool]:
    """The images of a JSON payload as (N, 784) and whether it was a batch.

    ``plain``: the body held only numbers besides its key (``plain_numbers``), so a well-formed
    payload is converted and checked by NumPy in one go; anything else is checked value by value."""
    if not isinstance(payload, dict):
        raise InputError('the body must be a JSON object: {"image": [...]} or {"images": [[...], ...]}',
                         reason="bad_shape")
    has_one, has_many = "image" in payload, "images" in payload
    if has_one == has_many:
        raise InputError('give exactly one of "image" (one image) or "images" (a batch)', reason="missing_key")
    if plain:
        value = payload["image"] if has_one else payload["images"]
        arr = pixel_array([value] if has_one else value, ((PIXELS,), (SIDE, SIDE)))
        if arr is not None and len(arr) <= MAX_BATCH:
            return arr.reshape(len(arr), PIXELS), has_many
    if has_one:
        return image_pixels(payload["image"])[None, :], False
    images = payload["images"]
    if not isinstance(images, list) or not images:
        raise InputError('"images" must be a non-empty list of images', reason="bad_shape")
    if len(images) > MAX_BATCH:
        raise InputError(f'"images" holds {len(images)} images; at most {MAX_BATCH} per request',
                         reason="too_many_images")
    return np.stack([image_pixels(im, f"images[{k}]") for k, im in enumerate(images)]), True


def picture_pixels(data: bytes) -> np.ndarray:
    """A PNG/JPEG picture of one digit → (784,) values 0-255, MNIST-style."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise InputError("the uploaded picture is empty", reason="bad_image")
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format not in ("PNG", "JPEG"):
                raise InputError(f"pictures must be PNG or JPEG, not {im.format}", 415, "unsupported_type")
            if im.width * im.height > MAX_IMAGE_PIXELS:
                raise InputError(f"the picture is {im.width}×{im.height}; at most {MAX_IMAGE_PIXELS} pixels",
                                 reason="bad_image")
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                # A transparent drawing: composite over its own "paper" colour (white).
                rgba = im.convert("RGBA")
                paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                im_grey = Image.alpha_composite(paper, rgba).convert("L")
            else:
                im_grey = im.convert("L")
            grey = np.asarray(im_grey, dtype=np.float64)
    except InputError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InputError(f"the upload is not a readable PNG or JPEG picture ({exc})", reason="bad_image") from None
    return mnist_style(grey)


def mnist_style(grey: np.ndarray) -> np.ndarray:
    """A grey picture (any size, 0-255) → (784,) like an MNIST digit: light ink on black."""
    from PIL import Image

    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    ink = 255.0 - grey if np.median(border) > 127 else grey.copy()  # dark digit on light paper
    ink -= np.median(np.concatenate([ink[0], ink[-1], ink[:, 0], ink[:, -1]]))  # background → 0
    ink = np.clip(ink, 0, None)
    peak = ink.max()
    if peak < 32:  # nothing drawn: an empty canvas stays empty
        return np.zeros(PIXELS)
    ink = ink * (255.0 / peak)
    ink[ink < 0.1 * 255] = 0  # paper texture and JPEG noise
    rows, cols = np.nonzero(ink)
    crop = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = crop.shape
    scale = 20.0 / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = np.asarray(Image.fromarray(crop.astype(np.float32)).resize((nw, nh), Image.BILINEAR))
    small = np.clip(small, 0, 255)
    out = np.zeros((SIDE, SIDE))
    total = small.sum()
    cy, cx = ((np.arange(nh)[:, None] * small).sum() / total, (np.arange(nw)[None, :] * small).sum() / total)
    top = int(np.clip(round(SIDE / 2 - 0.5 - cy), 0, SIDE - nh))
    left = int(np.clip(round(SIDE / 2 - 0.5 - cx), 0, SIDE - nw))
    out[top:top + nh, left:left + nw] = small
    return np.rint(out).reshape(PIXELS)
