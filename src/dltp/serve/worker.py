"""Slow and silent clients, on gunicorn's public settings and the socket it hands the application.

A sync worker is held by one client for as long as it takes to send its request, so gunicorn's
threaded worker (``gthread``, ``DLTP_SERVE_THREADS`` per worker) gives each request a thread; idle
keep-alive connections wait in the worker's poller, not in a thread. gunicorn does not bound a read
in the middle of a body, so ``limit_reads`` gives the connection's socket (``environ["gunicorn.socket"]``,
logged when missing) a receive time limit of ``DLTP_CLIENT_TIMEOUT`` seconds (``SO_RCVTIMEO``, set once
per connection; it survives gunicorn's blocking switches): a client that stops halfway is answered
408 and its thread comes back (``stop_reading``). A client that keeps trickling bytes still holds its
thread, and a connection's first request may stall in its headers (the application is not called
before they are complete): a service facing hostile clients belongs behind a buffering proxy.
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
