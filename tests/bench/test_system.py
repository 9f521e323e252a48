"""The sgemm peak probe: a child that answers one slice per request, and fails soft."""

import io
import json

from jersey_edge.bench.system import SgemmPeak, SgemmProbe, serve


def test_serve_answers_every_request_with_a_rate():
    replies = io.StringIO()
    serve(io.StringIO("slice\nslice\n"), replies, n=64, slice_s=0.0)
    rates = [json.loads(line)["gflops"] for line in replies.getvalue().splitlines()]
    assert len(rates) == 2 and all(rate > 0 for rate in rates)


def test_the_probe_child_stays_up_between_slices():
    probe = SgemmProbe(threads=1)
    try:
        first, second = probe.slice(), probe.slice()
        assert first is not None and second is not None and first > 0 and second > 0
    finally:
        probe.close()
    assert probe.slice() is None  # closed: unknown, never an exception
    probe.close()  # idempotent


def test_the_peak_is_the_median_of_every_slice():
    assert SgemmPeak({1: [10.0, 30.0], 16: [20.0]}).peak == 20.0
