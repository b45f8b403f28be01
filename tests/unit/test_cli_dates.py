"""`voc run` date options: one date, or a backfill range in order."""

from datetime import date

import pytest
import typer

from flows.cli import run_dates


def test_single_date_and_default():
    assert run_dates("2026-11-24", None, None) == [date(2026, 11, 24)]
    assert run_dates(None, None, None) == [None]


def test_backfill_range_in_order():
    assert run_dates(None, "2026-11-22", "2026-11-24") == [
        date(2026, 11, 22), date(2026, 11, 23), date(2026, 11, 24)]


@pytest.mark.parametrize("args", [("2026-11-24", "2026-11-22", "2026-11-24"),
                                  (None, "2026-11-22", None), (None, "2026-11-24", "2026-11-22"),
                                  ("24/11/2026", None, None)])
def test_bad_combinations_are_rejected(args):
    with pytest.raises(typer.BadParameter):
        run_dates(*args)
