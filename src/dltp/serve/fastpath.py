"""The common request without Flask's per-request machinery.

Nearly all traffic is ``POST /predict`` with ``{"image": [784 numbers]}``. Flask's request
context, routing, hooks and ``jsonify`` cost more than the model's forward pass, so this WSGI
middleware (installed as the Flask app's ``wsgi_app``) answers that request itself: orjson
decoding, the pixels checked by NumPy in one go (``validation.plain_numbers`` / ``pixel_array``),
the same forward pass, the same metrics and drift window (``Monitor.record_prediction``). Any
other request, and any request it does not accept as-is (an error, another shape, a picture, a
batch, a body without a length), goes on to the Flask app with the body it has read, so every
error answer, status and metric comes from one place: the Flask app.

The body is read with a time limit (``dltp.serve.worker.limit_reads``): a client that goes silent
mid-body is answered 408 and its thread comes back.
"""

from __future__ import annotations

import io
import math
import time

import numpy as np
import orjson

from dltp.serve import validation
from dltp.serve.worker import READ_TIMEOUTS, limit_reads

_JSON_TYPES = ("application/json",)
_SHAPES = ((validation.PIXELS,),)
_ONES = np.ones(validation.PIXELS)


class FastPredict:
    def __init__(self, flask_wsgi_app, model, monitor):
        self.next = flask_wsgi_app
        self.model = model
        self.monitor = monitor

    def __call__(self, environ, start_response):
        limit_reads(environ)
        if (environ.get("PATH_INFO") != "/predict" or environ.get("REQUEST_METHOD") != "POST"
                or self.model is None
                or environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower() not in _JSON_TYPES):
            return self.next(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or -1)
        except ValueError:
            length = -1
        if not 0 < length <= validation.MAX_BODY_BYTES or environ.get("HTTP_TRANSFER_ENCODING"):
            return self.next(environ, start_response)
        start = time.perf_counter()
        try:
            body = environ["wsgi.input"].read(length)
        except READ_TIMEOUTS:  # the client went silent mid-body (dltp.serve.worker.limit_reads)
            environ["wsgi.input"] = _Silent()
            return self.next(environ, start_response)
        pixels = _one_image(body)
        if pixels is not None:
            probabilities = self.model.predict_pixels(pixels)
            digit = int(probabilities[0].argmax())
            probs = probabilities.astype(float).tolist()
            if all(map(math.isfinite, probs[0])):
                answer = orjson.dumps({"prediction": digit, "probabilities": probs})
                start_response("200 OK", [("Content-Type", "application/json"),
                                          ("Content-Length", str(len(answer)))])
                mean_pixel = float(pixels[0].dot(_ONES)) / validation.PIXELS  # (a dot product: the cheapest sum)
                self.monitor.record_prediction(time.perf_counter() - start, mean_pixel, digit, probs[0][digit])
                return [answer]
        environ["wsgi.input"] = io.BytesIO(body)  # Flask reads it again and answers (or explains)
        return self.next(environ, start_response)


def _one_image(body: bytes) -> np.ndarray | None:
    """(1, 784) pixels of ``{"image": [784 numbers 0-255]}``, or None for anything else."""
    if not validation.plain_numbers(body):
        return None
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    image = payload.get("image") if type(payload) is dict else None
    if type(image) is not list or len(image) != validation.PIXELS:
        return None
    return validation.pixel_array([image], _SHAPES)


class _Silent(io.RawIOBase):
    """A body that times out again, so that the Flask app answers the timeout itself."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        raise TimeoutError("the client sent nothing for too long")
