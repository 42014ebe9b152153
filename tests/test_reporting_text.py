"""The number formats and the aligned layout shared by the findings and facts tables."""

from __future__ import annotations

from ideaflow.reporting.text import aligned_lines, interval, short_number


def test_short_numbers_by_hand() -> None:
    assert short_number(0.123456) == "0.1235"
    assert short_number(0.0004567) == "4.57e-04"
    assert short_number(0) == "0"
    assert short_number(12345.678) == "1.235e+04"
    assert short_number(float("nan")) == "-" and short_number(None) == "-"
    assert short_number(2.5, digits=2) == "2.5"


def test_intervals_by_hand() -> None:
    assert interval(0.01, 0.2) == "[0.01, 0.2]"
    assert interval(None, 1.0) == "-" and interval(0.0, float("inf")) == "-"


def test_aligned_lines_pad_every_column_to_its_widest_cell() -> None:
    lines = aligned_lines(("a", "value"), [("long name", "1"), ("b", "22")])
    assert lines == [
        "a          value",
        "---------  -----",
        "long name  1",
        "b          22",
    ]
