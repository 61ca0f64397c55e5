"""Downloading dataset files the usual way (the Keras URLs), safely and with a short timeout.

`DLTP_DOWNLOAD_ORIGIN` (e.g. a local mirror, http://mirror:8000) replaces the scheme and host of
every URL; `DLTP_OFFLINE=1` skips downloads altogether. Files are written to a temporary name and
renamed only when complete, so an interrupted download never leaves a truncated dataset behind.

Why not ``keras.utils.get_file`` (Keras 3.15, checked against a loopback server): it can write into
DLTP_DATA_DIR (an absolute ``cache_subdir``), checks a SHA-256, and never touches the network when
the file is already there; four things rule it out.

- No timeout: it calls ``urlopen`` without one, so a network that drops packets (a firewall, a
  sandbox) hangs `dltp run` forever instead of falling back to the offline stand-in after
  ``TIMEOUT_S``. Setting ``socket.setdefaulttimeout`` around it would change every socket the
  process opens meanwhile, in every thread.
- A bad file keeps the final name: on a checksum mismatch it raises ValueError and leaves the
  file in place, and a killed process (SIGKILL, out of memory) leaves a truncated one; the loaders
  look for the final name (``mnist.npz``), so the next run would read it. Here nothing but a
  complete, checked file is ever renamed to it.
- Its errors are a bare ``Exception`` ("URL fetch failure ...") and ValueError, so telling
  "unreachable" (DatasetUnavailable: fall back or say where to put the files) from "corrupt"
  (DatasetCorrupt: stop) would mean catching every exception.
- Its progress bar goes to stdout, whose last line `--json` reserves for the result.

Its extraction is not needed: CIFAR-10 is read from the .tar.gz itself, and get_file would extract
into ``<name>_extracted/``, not the ``cifar-10-batches-py/`` the loaders look for. Offline mode
would still be this module's check, made before any download.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from dltp.errors import DatasetCorrupt, DatasetUnavailable

TIMEOUT_S = 30


def resolve_url(url: str) -> str:
    origin = os.environ.get("DLTP_DOWNLOAD_ORIGIN")
    if not origin:
        return url
    parts = urllib.parse.urlsplit(url)
    base = urllib.parse.urlsplit(origin)
    return urllib.parse.urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))


def fetch(url: str, dest: Path, sha256: str | None = None) -> Path:
    """Download ``url`` to ``dest``; raise DatasetUnavailable when it cannot be reached."""
    if os.environ.get("DLTP_OFFLINE", "").lower() in {"1", "true", "yes"}:
        raise DatasetUnavailable(f"DLTP_OFFLINE is set: not downloading {url}")
    url = resolve_url(url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    print(f"downloading {url} -> {dest}", file=sys.stderr)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, open(tmp, "wb") as out:
            shutil.copyfileobj(response, out)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        tmp.unlink(missing_ok=True)
        raise DatasetUnavailable(f"cannot download {url}: {exc}") from exc
    if sha256 is not None:
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
        if digest != sha256:
            tmp.unlink(missing_ok=True)
            raise DatasetCorrupt(f"{url}: checksum {digest} does not match the expected {sha256}")
    tmp.replace(dest)
    return dest
