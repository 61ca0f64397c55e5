"""TP1 deployment: the MNIST model as a production web service (``dltp serve``).

- ``model``: load from an MLflow URI, a ``.keras`` path or an export; ``--export``.
- ``forward``: the NumPy forward pass and its file, ``forward.npz`` (what the slim image runs).
- ``validation``: request bodies → pixels, or a clear 4xx.
- ``monitoring``: Prometheus metrics across gunicorn workers, input drift.
- ``app``: the Flask application; ``fastpath``: its common request without Flask; ``wsgi``: what
  gunicorn serves; ``gunicorn_conf``: its settings; ``worker``: time limits for silent clients.
- ``cli``: the ``dltp serve`` command; ``healthcheck``: the image's HEALTHCHECK.
  ``static/index.html``: the drawing page.

Serving needs NumPy, Flask, orjson, gunicorn, prometheus-client and Pillow (pyproject's ``serve``
extra); Keras, MLflow and YAML are imported only to load a model that needs them.

``DEFAULT_MODEL`` lives here, in the package itself, so that ``cli`` can show it without importing
``model`` (numpy): building the ``dltp`` parser imports no numerical library, and ``dltp run`` sets
the thread count before numpy is imported.
"""

DEFAULT_MODEL = "models:/mnist-dense@champion"  # what is served when neither --model nor DLTP_MODEL names one
# Threads per gunicorn worker when DLTP_SERVE_THREADS is unset (gunicorn_conf; bench/serve_load.py
# labels its rows with it). Two: the threads of a worker share one core, and at 4 connections four of
# them waiting for each other lengthen the tail (serve_load's four-threads row); two still let a worker
# answer while one slow client holds a thread. More slow clients: raise it, or put a proxy in front.
DEFAULT_THREADS = 2
