"""Slow and silent clients, on gunicorn's public settings and its documented WSGI extension.

Why threads: a sync worker is held by one client for as long as that client takes to send its
request, so two slow clients stop a two-worker service. gunicorn's threaded worker
(``worker_class = "gthread"``, ``threads`` = ``DLTP_SERVE_THREADS`` per worker) gives each
request a thread, so a slow client holds one thread and the others keep answering; keep-alive
connections, and new ones that have sent nothing yet, wait in the worker's poller, not in a thread.

What gunicorn does not do is bound a read in the middle of a request: a client that stops halfway
through its body would hold its thread for ever. ``limit_reads`` gives the connection's socket
(``environ["gunicorn.socket"]``) a time limit of ``DLTP_CLIENT_TIMEOUT`` seconds per read before
the application reads the body, so such a client is answered 408 and its thread comes back. A
client that keeps trickling bytes still holds its thread while it does, and one that stops in the
middle of its headers holds it until it closes (the application is not called before the headers
are complete): a service facing hostile clients belongs behind a buffering proxy (Cloud Run's
front end, nginx), which sends only whole requests.
"""

from __future__ import annotations

import os

CLIENT_TIMEOUT = float(os.environ.get("DLTP_CLIENT_TIMEOUT", "10"))


def limit_reads(environ: dict) -> None:
    """Give the request's connection a read time limit (a no-op outside gunicorn)."""
    sock = environ.get("gunicorn.socket")
    if sock is not None:
        sock.settimeout(CLIENT_TIMEOUT)


class TimedReads:
    """WSGI middleware: ``limit_reads`` on every request (dltp.serve.fastpath does it itself)."""

    def __init__(self, wsgi_app):
        self.next = wsgi_app

    def __call__(self, environ, start_response):
        limit_reads(environ)
        return self.next(environ, start_response)
