"""The floor for `dltp serve`: the same JSON contract on a bare WSGI callable.

Like for like with `dltp serve`'s common request: the same JSON library (orjson), the same model
file loaded by the same loader into the same NumPy forward pass (``dltp.serve.model.load``), the
same answer; run by bench/serve_load.py under the same gunicorn settings (workers, threads,
keep-alive). What it leaves out is what the comparison measures: no framework, no validation
(a bad body is a 500 here), no metrics, no drift.
"""

import os

import numpy as np
import orjson

from dltp.serve.model import load

_model = load(os.environ["DLTP_MODEL_PATH"])


def app(environ, start_response):
    if environ["PATH_INFO"] == "/predict":
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        pixels = np.asarray(orjson.loads(body)["image"], dtype=np.float32).reshape(1, 784)
        probabilities = _model.predict_pixels(pixels)
        answer = orjson.dumps({"prediction": int(probabilities.argmax()),
                               "probabilities": probabilities.astype(float).tolist()})
    else:  # /ready
        answer = b'{"status": "ready"}'
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))])
    return [answer]
