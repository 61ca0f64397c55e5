"""The Docker image's HEALTHCHECK: ``python3 -m dltp.serve.healthcheck`` exits 0 when the server on
``$PORT`` (5000) answers 200 on ``/ready`` within 2 seconds, else 1. Standard library only."""

import os
import sys
import urllib.request


def main() -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{os.environ.get('PORT', '5000')}/ready", timeout=2) as r:
            return 0 if r.status == 200 else 1
    except OSError as exc:
        print(f"not ready: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
