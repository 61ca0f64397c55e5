"""The common request without Flask's per-request machinery.

Nearly all traffic is ``POST /predict`` with ``{"image": [784 numbers]}``. Flask's request
context, routing, hooks and ``jsonify`` cost more than the model's forward pass, so this WSGI
middleware (installed as the Flask app's ``wsgi_app``) answers that request itself: orjson
decoding, the same validation, the same forward pass, the same metrics and drift window. Any
other request, and any request it does not accept as-is (an error, another shape, a picture, a
batch, a body without a length), goes on to the Flask app with the body it has read, so every
error answer, status and metric comes from one place: the Flask app.
"""

from __future__ import annotations

import io
import time

import numpy as np
import orjson

from dltp.serve import validation

_JSON_TYPES = ("application/json",)


class FastPredict:
    def __init__(self, flask_wsgi_app, model, monitor):
        self.next = flask_wsgi_app
        self.model = model
        self.monitor = monitor
        self.record_ok = monitor.request_recorder("/predict", "POST", 200)

    def __call__(self, environ, start_response):
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
        except TimeoutError:  # the client went silent mid-body (dltp.serve.worker's time limit)
            environ["wsgi.input"] = _Silent()
            return self.next(environ, start_response)
        pixels = _one_image(body)
        probabilities = self.model.predict_pixels(pixels) if pixels is not None else None
        if probabilities is None or not np.isfinite(probabilities).all():
            environ["wsgi.input"] = io.BytesIO(body)  # Flask reads it again and answers (or explains)
            return self.next(environ, start_response)
        self.monitor.observe_predictions(pixels, probabilities)
        answer = orjson.dumps({"prediction": int(probabilities[0].argmax()),
                               "probabilities": probabilities.astype(float).tolist()})
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))])
        self.record_ok(time.perf_counter() - start)
        return [answer]


def _one_image(body: bytes) -> np.ndarray | None:
    """(1, 784) pixels of ``{"image": [784 numbers 0-255]}``, or None for anything else."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(payload) is not dict or "images" in payload:
        return None
    image = payload.get("image")
    if type(image) is not list or len(image) != validation.PIXELS:
        return None
    try:
        values = validation.row_values(image, "image")
    except validation.InputError:
        return None
    return values.reshape(1, validation.PIXELS) if isinstance(values, np.ndarray) else None


class _Silent(io.RawIOBase):
    """A body that times out again, so that the Flask app answers the timeout itself."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        raise TimeoutError("the client sent nothing for too long")
