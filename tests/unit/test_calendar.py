"""twin_model.calendar's month arithmetic, on hand-picked dates."""

import datetime as dt

import pytest

from twin_model.calendar import first_of_next_month


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2021, 1, 1), dt.date(2021, 2, 1)),
        (dt.date(2021, 1, 31), dt.date(2021, 2, 1)),
        (dt.date(2021, 2, 28), dt.date(2021, 3, 1)),  # non-leap February
        (dt.date(2020, 2, 29), dt.date(2020, 3, 1)),  # leap day
        (dt.date(2021, 4, 30), dt.date(2021, 5, 1)),  # a 30-day month
        (dt.date(2021, 12, 15), dt.date(2022, 1, 1)),  # into the next year
    ],
)
def test_the_first_of_the_next_month(day, expected):
    assert first_of_next_month(day) == expected
