"""Downloading dataset files the usual way (the Keras URLs), safely and with a short timeout.

`DLTP_DOWNLOAD_ORIGIN` (e.g. a local mirror, http://mirror:8000) replaces the scheme and host of
every URL; `DLTP_OFFLINE=1` skips downloads altogether. Files are written to a temporary name and
renamed only when complete, so an interrupted download never leaves a truncated dataset behind.
Why this and not ``keras.utils.get_file``: docs/downloads.md.
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

TIMEOUT_S = 30  # a network that drops packets falls back to the offline data instead of hanging


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
        # No progress bar: stdout's last line is the --json result.
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
    tmp.replace(dest)  # only a complete, checked file gets the name the loaders look for
    return dest
