"""What gunicorn serves: one app per worker, with the model loaded once when the worker starts."""

import os

from dltp.serve import DEFAULT_MODEL
from dltp.serve.app import create_app
from dltp.serve.model import load

_source = os.environ.get("DLTP_MODEL", DEFAULT_MODEL)
app = create_app(load(os.environ.get("DLTP_MODEL_PATH") or _source, label=_source),
                 drift_window=int(os.environ.get("DLTP_DRIFT_WINDOW", "500")),
                 drift_min_images=int(os.environ.get("DLTP_DRIFT_MIN_IMAGES", "100")),
                 drift_threshold=float(os.environ.get("DLTP_DRIFT_THRESHOLD", "0.25")))
