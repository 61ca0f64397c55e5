"""Slow and silent clients, on gunicorn's public settings and the socket it hands the application.

Why threads: a sync worker is held by one client for as long as that client takes to send its
request, so two slow clients stop a two-worker service. gunicorn's threaded worker
(``worker_class = "gthread"``, ``threads`` = ``DLTP_SERVE_THREADS`` per worker) gives each
request a thread, so a slow client holds one thread and the others keep answering; keep-alive
connections, and new ones that have sent nothing yet, wait in the worker's poller, not in a thread.

What gunicorn does not do is bound a read in the middle of a request: a client that stops halfway
through its body would hold its thread for ever. ``limit_reads`` gives the connection's socket
(``environ["gunicorn.socket"]``, which gunicorn puts in every request's environ and WebSocket
libraries rely on; its absence under gunicorn is logged) a receive time limit of ``DLTP_CLIENT_TIMEOUT`` seconds
(``SO_RCVTIMEO``, set once per connection: it stays through gunicorn's switches between blocking
and non-blocking, so a keep-alive request costs no system call), so such a client is answered 408
and its thread comes back (``stop_reading``); the later requests of the connection have the same limit on their
headers too. A client that keeps trickling bytes still holds its thread while it does, and the
first request of a connection can stop in the middle of its headers without a limit (the
application is not called before they are complete): a service facing hostile clients belongs
behind a buffering proxy (Cloud Run's front end, nginx), which sends only whole requests.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import weakref

CLIENT_TIMEOUT = float(os.environ.get("DLTP_CLIENT_TIMEOUT", "10"))
# What a read that timed out raises: a blocking socket past SO_RCVTIMEO, or one in Python's timeout mode.
READ_TIMEOUTS = (BlockingIOError, TimeoutError)
_TIMEVAL = struct.pack("ll", int(CLIENT_TIMEOUT), int(CLIENT_TIMEOUT % 1 * 1e6))
_limited: weakref.WeakSet = weakref.WeakSet()  # the connections that have their limit already
_warned: list = []


def limit_reads(environ: dict) -> None:
    """Give the request's connection a receive time limit (a no-op outside gunicorn)."""
    sock = environ.get("gunicorn.socket")
    if sock is None:
        if environ.get("SERVER_SOFTWARE", "").startswith("gunicorn") and not _warned:
            _warned.append(True)
            logging.getLogger("dltp.serve").warning(
                "gunicorn gave no environ['gunicorn.socket']: silent clients are not cut off (DLTP_CLIENT_TIMEOUT)")
        return
    if sock in _limited:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _TIMEVAL)
        _limited.add(sock)
    except (OSError, TypeError):  # not a plain kernel socket: Python's own time limit, for this request
        sock.settimeout(CLIENT_TIMEOUT)


def stop_reading(environ: dict) -> None:
    """After a 408: nothing more is read from this client, so gunicorn, which would otherwise try
    for 5 s to read the rest of the body before reusing the connection, closes it at once."""
    sock = environ.get("gunicorn.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RD)
        except OSError:  # already gone
            pass


class TimedReads:
    """WSGI middleware: ``limit_reads`` on every request (dltp.serve.fastpath does it itself)."""

    def __init__(self, wsgi_app):
        self.next = wsgi_app

    def __call__(self, environ, start_response):
        limit_reads(environ)
        return self.next(environ, start_response)
