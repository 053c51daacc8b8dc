"""The weekly trend on hand-built timelines: opened and resolved per ISO week, SLA compliance and
MTTR (n, mean, median) of the incidents resolved in each week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from itsm_bridge.reports.timeline import Broken, Timeline
from itsm_bridge.reports.trends import weekly

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 2026-W10
TARGETS = {"P1": 240, "P2": 480}


def line(key: str, opened: datetime, hours: float | None, priority: str = "P1", broken: bool = False) -> Timeline:
    finished = None if hours is None else opened + timedelta(hours=hours)
    flaw = (Broken("opened", opened, "resolved", opened - timedelta(hours=1)),) if broken else ()
    return Timeline(key, opened, None, finished, finished is None, priority, "Network", "VPN", broken=flaw)


def test_each_week_counts_what_opened_in_it_and_judges_what_was_resolved_in_it():
    lines = [
        line("A", MONDAY, 2),  # W10, P1 within 4 h
        line("B", MONDAY, 6),  # W10, P1 late
        line("C", MONDAY, 100),  # W10 opened, resolved Friday W10, late
        line("D", MONDAY + timedelta(days=6), 30, "P2"),  # opened Sunday W10, resolved Monday W11, late
        line("E", MONDAY + timedelta(days=7), None),  # W11, still open
        line("F", MONDAY + timedelta(days=8), 1, "P5"),  # W11, no target for P5: not judged
    ]
    weeks = {w["week"]: w for w in weekly(lines, TARGETS)}
    assert list(weeks) == ["2026-W10", "2026-W11"]
    w10, w11 = weeks["2026-W10"], weeks["2026-W11"]
    assert (w10["opened"], w10["resolved"], w10["sla_judged"], w10["sla_met"]) == (4, 3, 3, 1)
    assert w10["sla_compliance_pct"] == 33.3
    assert w10["mttr"] == {"count": 3, "mean_minutes": 36.0 * 60, "median_minutes": 6.0 * 60}  # one outlier: mean 36 h
    assert (w11["opened"], w11["resolved"], w11["sla_judged"], w11["sla_met"]) == (2, 2, 1, 0)
    assert w11["mttr"]["count"] == 2 and w11["mttr"]["median_minutes"] == 15.5 * 60


def test_a_timeline_out_of_order_counts_as_resolved_but_gives_no_mttr():
    weeks = weekly([line("A", MONDAY, 2), line("B", MONDAY, 3, broken=True)], TARGETS)
    assert [(w["resolved"], w["mttr"]["count"], w["mttr"]["median_minutes"]) for w in weeks] == [(2, 1, 120.0)]


def test_a_week_with_nothing_judged_has_no_compliance_rather_than_zero():
    weeks = weekly([line("A", MONDAY, None)], TARGETS)
    assert weeks == [
        {
            "week": "2026-W10",
            "opened": 1,
            "resolved": 0,
            "sla_judged": 0,
            "sla_met": 0,
            "sla_compliance_pct": None,
            "mttr": {"count": 0, "mean_minutes": None, "median_minutes": None},
        }
    ]
