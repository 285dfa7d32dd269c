"""The instruction-count benchmark reads callgrind's own total, not a sum of its lines."""

from __future__ import annotations

from bench.instructions import totals

PROFILE = b"""# callgrind format
version: 1
creator: callgrind-3.19.0
events: Ir
summary: 0
fl=(1) ceval.c
fn=(1) _PyEval_EvalFrameDefault
16 200
totals: 974334335
"""


def test_the_count_is_callgrinds_totals_line():
    assert totals(PROFILE) == 974_334_335


def test_a_profile_that_counted_nothing_reads_as_zero():
    assert totals(b"summary: 0\n") == 0
