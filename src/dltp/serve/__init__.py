"""TP1 deployment: the MNIST model as a production web service (``dltp serve``).

- ``model``: load from an MLflow URI or a ``.keras`` path; a compiled forward pass.
- ``validation``: request bodies → pixels, or a clear 4xx.
- ``monitoring``: Prometheus metrics across gunicorn workers, input drift.
- ``app``: the Flask application; ``wsgi``: what gunicorn serves; ``gunicorn_conf``: its settings.
- ``cli``: the ``dltp serve`` command. ``static/index.html``: the drawing page.

``DEFAULT_MODEL`` lives here, in the package itself, so that ``cli`` can show it without importing
``model`` (numpy): building the ``dltp`` parser imports no numerical library, and ``dltp run`` sets
the thread count before numpy is imported.
"""

DEFAULT_MODEL = "models:/mnist-dense@champion"  # what is served when neither --model nor DLTP_MODEL names one
