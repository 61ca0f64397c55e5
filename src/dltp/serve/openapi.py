"""The OpenAPI 3.1 description of the service, served at ``/openapi.json``."""

from __future__ import annotations

from dltp.serve.validation import MAX_BATCH, MAX_BODY_BYTES, PIXELS, SIDE


def openapi_document() -> dict:
    pixel = {"type": "number", "minimum": 0, "maximum": 255}
    flat = {"type": "array", "items": pixel, "minItems": PIXELS, "maxItems": PIXELS,
            "description": f"{PIXELS} pixel values, row by row, 0 = background, 255 = ink"}
    rows = {"type": "array", "minItems": SIDE, "maxItems": SIDE,
            "items": {"type": "array", "items": pixel, "minItems": SIDE, "maxItems": SIDE},
            "description": f"{SIDE} rows of {SIDE} pixel values"}
    image = {"oneOf": [flat, rows]}
    probabilities = {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1},
                     "minItems": 10, "maxItems": 10}
    error = {"type": "object", "required": ["error", "status"],
             "properties": {"error": {"type": "string"}, "status": {"type": "integer"}}}
    single = {"type": "object", "required": ["prediction", "probabilities"],
              "properties": {"prediction": {"type": "integer", "minimum": 0, "maximum": 9},
                             "probabilities": {"type": "array", "items": probabilities,
                                               "minItems": 1, "maxItems": 1},
                             "input": {**rows, "description": "the 28×28 image the model saw "
                                                             "(picture uploads only)"}}}
    batch = {"type": "object", "required": ["predictions", "probabilities"],
             "properties": {"predictions": {"type": "array", "items": {"type": "integer"}},
                            "probabilities": {"type": "array", "items": probabilities}}}

    def errors(*codes):
        text = {400: "bad input (the message says what to fix)", 405: "wrong method",
                413: f"body larger than {MAX_BODY_BYTES} bytes", 415: "unsupported content type",
                503: "no model loaded"}
        return {str(code): {"description": text[code], "content": {"application/json": {"schema": error}}}
                for code in codes}

    def plain(description, schema=None, media="application/json"):
        return {"200": {"description": description,
                        "content": {media: {"schema": schema or {"type": "object"}}}}}

    return {
        "openapi": "3.1.0",
        "info": {"title": "dltp MNIST digit classifier", "version": "1.0.0",
                 "description": "TP1's dense MNIST classifier served with monitoring."},
        "paths": {
            "/predict": {"post": {
                "summary": "Classify one digit, a batch of digits, or a picture of a digit",
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"oneOf": [
                        {"type": "object", "required": ["image"], "additionalProperties": True,
                         "properties": {"image": image}},
                        {"type": "object", "required": ["images"], "additionalProperties": True,
                         "properties": {"images": {"type": "array", "items": image, "minItems": 1,
                                                   "maxItems": MAX_BATCH}}}]}},
                    "image/png": {"schema": {"type": "string", "format": "binary"}},
                    "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                        "file": {"type": "string", "format": "binary"}}}}}},
                "responses": {"200": {"description": "the predicted digit and the 10 class probabilities",
                                      "content": {"application/json": {"schema": {"oneOf": [single, batch]}}}},
                              **errors(400, 405, 413, 415, 503)}}},
            "/health": {"get": {"summary": "the process is alive",
                                "responses": plain("alive", {"type": "object", "properties": {
                                    "status": {"const": "alive"}}})}},
            "/ready": {"get": {"summary": "the model is loaded and the service can predict",
                               "responses": {**plain("ready"), **errors(503)}}},
            "/metrics": {"get": {"summary": "Prometheus metrics (all gunicorn workers together)",
                                 "responses": plain("text exposition format", {"type": "string"},
                                                    "text/plain")}},
            "/openapi.json": {"get": {"summary": "this document", "responses": plain("OpenAPI 3.1")}},
            "/": {"get": {"summary": "the drawing page", "responses": plain("HTML", {"type": "string"},
                                                                            "text/html")}},
        },
    }
