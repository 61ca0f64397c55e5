"""Every record the README and docs quote can be quoted: it exists, was taken from a clean tree at a
commit whose measured files are still those of HEAD (bench/_provenance.py), with the command and
environment bench/records.toml gives, and holds every key and figure the docs ask of it.

This fails as soon as a measured file changes after its record was taken: the message names the records
to take again and the one command that takes them (`make records ONLY="..."`; benchmarks: `make bench`)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import render_results  # noqa: E402


def test_every_quoted_record_is_clean_fresh_and_complete():
    problems = render_results.check_records()
    assert not problems, "records the docs cannot quote as they are:\n" + "\n".join(problems)
