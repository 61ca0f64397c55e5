"""The Flask application: the original ``/predict`` contract, health, metrics, the drawing page.

``create_app(model)`` builds one app around one loaded model; gunicorn builds one per worker
(``dltp.serve.wsgi``). Every error is a JSON ``{"error": message, "status": code}``; bad input
gets a 4xx saying what to fix, and even an unexpected failure answers a JSON 500 that is counted
(``dltp_http_errors_total{reason="internal"}``) — the tests make sure no input reaches it.
"""

from __future__ import annotations

import logging
import os
import time
from importlib import resources

import numpy as np
from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import ClientDisconnected, HTTPException

from dltp.serve import validation
from dltp.serve.fastpath import FastPredict
from dltp.serve.model import ServedModel
from dltp.serve.monitoring import Monitor
from dltp.serve.openapi import openapi_document
from dltp.serve.validation import InputError
from dltp.serve.worker import READ_TIMEOUTS, TimedReads, stop_reading

log = logging.getLogger("dltp.serve")


def _static(name: str) -> bytes:
    return resources.files("dltp.serve").joinpath("static", name).read_bytes()


def create_app(model: ServedModel | None, *, drift_window: int = 500, drift_min_images: int = 100,
               drift_threshold: float = 0.25) -> Flask:
    app = Flask("dltp.serve", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = validation.MAX_BODY_BYTES
    app.json.sort_keys = False
    monitor = Monitor(model.reference if model else None, drift_window, drift_min_images, drift_threshold,
                      model.num_classes if model else 10)
    if model is not None:
        monitor.model_info.labels(model.source, model.forward_kind, model.info.get("backend", "?")).set(1)
    app.extensions["dltp.monitor"] = monitor
    app.extensions["dltp.model"] = model
    page = _static("index.html")

    def error(message: str, status: int, reason: str) -> Response:
        g.error_reason = reason
        resp = jsonify(error=message, status=status)
        resp.status_code = status
        if status == 408:  # the rest of that body is not coming: the connection closes at once
            stop_reading(request.environ)
        return resp

    @app.before_request
    def _start_timer():
        g.start = time.perf_counter()

    @app.after_request
    def _count(resp: Response) -> Response:
        if request.url_rule is not None:
            endpoint = request.url_rule.rule
        else:  # 404, or 405 on a known path: never a label per unknown URL
            endpoint = request.path if request.path in known_paths else "other"
        seconds = time.perf_counter() - g.get("start", time.perf_counter())
        monitor.observe_request(endpoint, request.method if request.method in _METHODS else "other",
                                resp.status_code, seconds)
        if resp.status_code >= 400:
            monitor.observe_error(endpoint, g.get("error_reason") or f"http_{resp.status_code}")
        return resp

    @app.errorhandler(InputError)
    def _input_error(exc: InputError):
        return error(exc.message, exc.status, exc.reason)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        reasons = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large", 400: "bad_request"}
        message = {413: f"the body is larger than {validation.MAX_BODY_BYTES} bytes",
                   405: f"{request.method} is not allowed here"}.get(exc.code, exc.description)
        resp = error(message, exc.code or 500, reasons.get(exc.code, f"http_{exc.code}"))
        if exc.code == 405:
            resp.headers["Allow"] = ", ".join(sorted(exc.valid_methods or []))
        return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error("internal error", 500, "internal")

    @app.get("/")
    def index():
        return Response(page, mimetype="text/html")

    @app.get("/health")
    def health():
        return jsonify(status="alive")

    @app.get("/ready")
    def ready():
        if model is None:
            return error("no model loaded", 503, "not_ready")
        return jsonify(status="ready", model=model.source, forward=model.forward_kind,
                       drift_reference=model.reference is not None, **model.info)

    @app.get("/metrics")
    def metrics():
        body, content_type = monitor.exposition()
        return Response(body, content_type=content_type)

    @app.get("/openapi.json")
    def openapi():
        return jsonify(openapi_document())

    @app.post("/predict")
    def predict():
        if model is None:
            return error("no model loaded", 503, "not_ready")
        pixels, batch, picture = _read_pixels()
        probabilities = model.predict_pixels(pixels)
        if not np.all(np.isfinite(probabilities)):
            raise RuntimeError("the model returned non-finite probabilities")
        monitor.observe_predictions(pixels, probabilities)
        predicted = probabilities.argmax(axis=1)
        probs = probabilities.astype(float).tolist()
        if batch:
            return jsonify(predictions=[int(digit) for digit in predicted], probabilities=probs)
        body = {"prediction": int(predicted[0]), "probabilities": probs}
        if picture:  # what the model saw, for the drawing page
            body["input"] = pixels[0].reshape(28, 28).astype(int).tolist()
        return jsonify(body)

    known_paths = {rule.rule for rule in app.url_map.iter_rules()}
    if os.environ.get("DLTP_FAST_PATH", "1") != "0":  # "0": every request through Flask (for comparison)
        app.wsgi_app = FastPredict(app.wsgi_app, model, monitor)  # the common request, without Flask's overhead
    else:
        app.wsgi_app = TimedReads(app.wsgi_app)  # (FastPredict does it itself)
    return app


_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}


def _read_pixels() -> tuple[np.ndarray, bool, bool]:
    """(N, 784) pixels of the request, whether it is a batch, whether it came as a picture."""
    silent = InputError("the request body stopped arriving before it was complete", 408, "body_timeout")
    try:
        return _pixels_of(request.mimetype)
    except READ_TIMEOUTS:  # the body stopped coming (dltp.serve.worker's time limit)
        raise silent from None
    except ClientDisconnected as exc:  # the body ended early (or stopped coming, as werkzeug reports it)
        if isinstance(exc.__context__, READ_TIMEOUTS):
            raise silent from None
        raise InputError("the request body ended before its Content-Length", 400, "incomplete_body") from None


def _pixels_of(mimetype: str) -> tuple[np.ndarray, bool, bool]:
    if mimetype == "application/json" or mimetype.endswith("+json"):
        body = request.get_data(cache=False)
        pixels, batch = validation.json_pixels(validation.parse_json(body), validation.plain_numbers(body))
        return pixels, batch, False
    if mimetype in validation.IMAGE_TYPES:
        return validation.picture_pixels(request.get_data(cache=False))[None, :], False, True
    if mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise InputError('the multipart upload needs a PNG or JPEG picture in a field named "file"',
                             reason="missing_key")
        return validation.picture_pixels(upload.read())[None, :], False, True
    shown = mimetype or "no Content-Type"
    raise InputError(f"unsupported content type ({shown}): send application/json, image/png, image/jpeg "
                     f"or multipart/form-data", 415, "unsupported_type")
