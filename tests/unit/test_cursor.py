from __future__ import annotations

from datetime import UTC, datetime, timedelta

from itsm_bridge.watermark import Watermark

T0 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
OVERLAP = timedelta(seconds=60)


def test_first_read_starts_from_nothing():
    assert Watermark().read_from(OVERLAP) is None


def test_advances_to_newest_applied_and_remembers_boundary_versions():
    w = Watermark().advance(
        [("a", "1", T0), ("b", "3", T0 + timedelta(seconds=5))], [], T0 + timedelta(hours=1), OVERLAP
    )
    assert w.value == T0 + timedelta(seconds=5)
    assert w.read_from(OVERLAP) == T0 - timedelta(seconds=55)
    assert w.already_applied("a", "1") and w.already_applied("b", "3")
    assert not w.already_applied("b", "4")  # a newer version is read again


def test_never_moves_past_an_unapplied_record():
    w = Watermark(T0).advance(
        [("a", "1", T0 + timedelta(seconds=30))], [T0 + timedelta(seconds=10)], T0 + timedelta(hours=1), OVERLAP
    )
    assert w.value == T0  # the failed record at +10 s must be read again


def test_never_moves_past_the_start_of_the_run():
    started = T0 + timedelta(seconds=20)
    w = Watermark(T0).advance([("a", "1", T0 + timedelta(seconds=30))], [], started, OVERLAP)
    assert w.value == T0


def test_seen_set_forgets_entries_older_than_the_window():
    w = Watermark().advance([("a", "1", T0)], [], T0 + timedelta(hours=2), OVERLAP)
    w = w.advance([("b", "1", T0 + timedelta(minutes=5))], [], T0 + timedelta(hours=2), OVERLAP)
    assert not w.already_applied("a", "1") and w.already_applied("b", "1")


def test_round_trips_through_the_store_cursor():
    w = Watermark().advance([("a", "1", T0), ("b", "2", T0)], [], T0 + timedelta(hours=1), OVERLAP)
    assert Watermark.from_cursor(w.to_cursor("servicenow")) == w
    assert Watermark.from_cursor(None) == Watermark()


def test_a_read_that_saw_everything_before_a_moment_moves_the_watermark_there_but_never_past_a_failure():
    t = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    applied = [("1", "v1", t), ("2", "v1", t + timedelta(seconds=5))]
    started = t + timedelta(hours=1)
    quiet = Watermark().advance(applied, [], started, timedelta(seconds=2), complete_to=t + timedelta(minutes=3))
    assert quiet.value == t + timedelta(minutes=3)  # past our own writes: the next read starts there
    held = Watermark().advance(
        applied, [t + timedelta(minutes=1)], started, timedelta(seconds=2), complete_to=t + timedelta(minutes=3)
    )
    assert held.value == t + timedelta(minutes=1)  # a record not applied is read again
    assert Watermark().advance(applied, [], started, timedelta(seconds=2)).value == t + timedelta(seconds=5)
