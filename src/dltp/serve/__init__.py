"""TP1 deployment: the MNIST model as a production web service (``dltp serve``).

- ``model``: load from an MLflow URI or a ``.keras`` path; a compiled forward pass.
- ``validation``: request bodies → pixels, or a clear 4xx.
- ``monitoring``: Prometheus metrics across gunicorn workers, input drift.
- ``app``: the Flask application; ``wsgi``: what gunicorn serves; ``gunicorn_conf``: its settings.
- ``cli``: the ``dltp serve`` command. ``static/index.html``: the drawing page.
"""
