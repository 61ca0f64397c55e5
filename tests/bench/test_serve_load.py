import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import serve_load  # noqa: E402

WRK_OUTPUT = """Running 4s test @ http://127.0.0.1:40123/
  1 threads and 4 connections
  Latency Distribution
     50%    1.42ms
     75%    1.90ms
     90%    2.51ms
     99%    6.05ms
  9512 requests in 4.00s, 3.10MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   2377.90
"""


def test_wrk_output_is_read_with_units_and_errors():
    r = serve_load.parse_wrk(WRK_OUTPUT)
    assert r == {"rps": 2377.90, "p50_ms": 1.42, "p99_ms": 6.05, "requests": 9512, "errors": 4 + 2 + 1}
    assert serve_load._ms("850.00us") == pytest.approx(0.85) and serve_load._ms("1.20s") == pytest.approx(1200)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_pinned_wrk_and_servers_never_share_a_cpu():
    servers, load = serve_load.cpu_sets(pin=True)
    assert load == [max(os.sched_getaffinity(0))] and not set(servers) & set(load)
    assert set(servers) | set(load) == os.sched_getaffinity(0)
    assert serve_load.cpu_sets(pin=False) == (sorted(os.sched_getaffinity(0)),) * 2
    assert serve_load.on_cpus(load, ["wrk", "-t1"]) == ["taskset", "-c", str(load[0]), "wrk", "-t1"]
    everything = sorted(os.sched_getaffinity(0))
    assert serve_load.on_cpus(everything, ["wrk", "-t1"]) == ["wrk", "-t1"]  # unpinned: nothing to bind
