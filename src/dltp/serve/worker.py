"""The gunicorn worker: gunicorn's threaded worker, with a time limit on every read from a client.

Why threads: a sync worker is held by one client for as long as that client takes to send its
request, so two slow clients stop a two-worker service. Here each client holds one thread
(``DLTP_SERVE_THREADS`` per worker) and the others keep answering. A client that stops sending
halfway is cut off after ``DLTP_CLIENT_TIMEOUT`` seconds without a byte (gunicorn's threaded
worker otherwise waits forever), so its thread comes back. A client that keeps trickling bytes
still holds its thread while it does: a service facing hostile clients belongs behind a
buffering proxy (Cloud Run's front end, nginx), which sends only whole requests.
"""

from __future__ import annotations

import errno
import os

from gunicorn.workers import gthread

CLIENT_TIMEOUT = float(os.environ.get("DLTP_CLIENT_TIMEOUT", "10"))


class _TimedConnection(gthread.TConn):
    def init(self):
        super().init()
        # gunicorn switches the socket to blocking (no time limit) before each request.
        self.sock.settimeout(CLIENT_TIMEOUT)


class ThreadWorker(gthread.ThreadWorker):
    def accept(self, listener):
        try:
            client_sock, client_addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        client_sock.setblocking(True)
        self.enqueue_req(_TimedConnection(self.cfg, client_sock, client_addr, listener.getsockname()))
