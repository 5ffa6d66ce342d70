"""The catalog's rules without a database: deadlines, recurrence across DST, names."""

from __future__ import annotations

from datetime import date, time

import pendulum
import pytest

from catalog.errors import InvalidSessionData, TooManySessions
from catalog.models import Activity
from catalog.services import SeriesInput, normalize, series_occurrences, session_deadlines
from portal.errors import LocalTimeDoesNotExist

PARIS = "Europe/Paris"


def test_deadlines_are_calendar_days_in_local_time_across_the_spring_change() -> None:
    activity = Activity(booking_deadline_days=3, cancellation_deadline_days=0)
    start = pendulum.datetime(2027, 3, 29, 8, 0, tz=PARIS)
    closes, cancel = session_deadlines(start, activity, PARIS)
    assert closes == pendulum.datetime(2027, 3, 26, 7, 0, tz="UTC")  # 08:00 Paris, not 72 hours before
    assert closes != start.subtract(hours=72)
    assert cancel == start


def test_a_weekly_series_keeps_its_wall_clock_time_across_the_spring_change() -> None:
    series = SeriesInput(
        weekdays=[5, 6],
        start_time=time(9, 30),
        end_time=time(11, 0),
        first_date=date(2027, 3, 20),
        last_date=date(2027, 4, 4),
        except_dates=[date(2027, 3, 28)],
    )
    local = [
        (pendulum.instance(s).in_timezone(PARIS).format("YYYY-MM-DD HH:mm Z"), (e - s).total_seconds() / 60)
        for s, e in series_occurrences(series, PARIS)
    ]
    assert local == [
        ("2027-03-20 09:30 +01:00", 90),
        ("2027-03-21 09:30 +01:00", 90),
        ("2027-03-27 09:30 +01:00", 90),
        ("2027-04-03 09:30 +02:00", 90),
        ("2027-04-04 09:30 +02:00", 90),
    ]


def test_a_series_inside_the_night_of_the_change_says_the_hour_does_not_exist() -> None:
    # 02:30 does not exist in Paris on 28 March 2027 (issue 9: say so rather than move it).
    series = SeriesInput(
        weekdays=[6],
        start_time=time(2, 30),
        end_time=time(4, 0),
        first_date=date(2027, 3, 28),
        last_date=date(2027, 3, 28),
    )
    with pytest.raises(LocalTimeDoesNotExist, match="L'heure 02:30 du 28/03/2027 n'existe pas"):
        series_occurrences(series, PARIS)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"weekdays": []}, InvalidSessionData),
        ({"weekdays": [7]}, InvalidSessionData),
        ({"end_time": time(9, 0)}, InvalidSessionData),
        ({"last_date": date(2027, 6, 30)}, InvalidSessionData),
        ({"weekdays": [0, 1, 2, 3, 4, 5, 6], "last_date": date(2028, 2, 28)}, TooManySessions),
    ],
)
def test_bad_series(changes, error) -> None:
    fields = {
        "weekdays": [1],
        "start_time": time(10),
        "end_time": time(12),
        "first_date": date(2027, 7, 1),
        "last_date": date(2027, 8, 31),
    } | changes
    with pytest.raises(error):
        series_occurrences(SeriesInput(**fields), PARIS)


def test_names_compare_without_case_accents_or_extra_spaces() -> None:
    assert normalize("  Équitation   ÉTÉ ") == "equitation ete"
    assert normalize("Tir à l'arc") == normalize("TIR A L'ARC")
