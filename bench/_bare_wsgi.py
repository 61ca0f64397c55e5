"""The floor for `dltp serve`: the same JSON contract on a bare WSGI callable.

No framework, no validation, no metrics, no drift: read the body, one NumPy forward pass,
write the answer. Run under the same gunicorn settings as `dltp serve` by bench/serve_load.py.
"""

import json
import os

import numpy as np

from dltp.serve.model import load

_model = load(os.environ["DLTP_MODEL_PATH"])


def app(environ, start_response):
    if environ["PATH_INFO"] == "/predict":
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        pixels = np.asarray(json.loads(body)["image"], dtype=np.float32).reshape(1, 784)
        probabilities = _model.predict_pixels(pixels)
        answer = json.dumps({"prediction": int(probabilities.argmax()),
                             "probabilities": probabilities.tolist()}).encode()
    else:  # /ready
        answer = b'{"status": "ready"}'
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))])
    return [answer]
