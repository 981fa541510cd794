"""Thresholds, findings and trends: pure logic on plain data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from automator.checks import CheckDef, Status, Threshold, Trend
from automator.checks._judge import judge, thresholds_for, trend_finding
from automator.checks._model import Metric

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def disk_check(**extra: object) -> CheckDef:
    return CheckDef(
        name="disk",
        description="",
        applies_to=("server",),
        commands={"server": ("df -P -k",)},
        snmp={},
        parser="df",
        parse_options={},
        metrics={"used_pct": Metric("used_pct", Threshold(85, 95), "%")},
        source=Path("disk.yaml"),
        **extra,  # type: ignore[arg-type]
    )


def test_thresholds_above_and_below() -> None:
    high = Threshold(warning=80, critical=90)
    assert [high.judge(v) for v in (10, 80, 89.9, 90)] == [
        Status.OK,
        Status.WARNING,
        Status.WARNING,
        Status.CRITICAL,
    ]
    low = Threshold(warning=50, critical=20, below=True)
    assert [low.judge(v) for v in (100, 50, 21, 20, 0)] == [
        Status.OK,
        Status.WARNING,
        Status.WARNING,
        Status.CRITICAL,
        Status.CRITICAL,
    ]
    assert Threshold().judge(float("nan")) is Status.UNKNOWN


def test_each_record_is_judged_and_the_worst_finding_wins() -> None:
    check = disk_check()
    records = [
        {"item": "/", "used_pct": 40},
        {"item": "/srv", "used_pct": 96},
        {"item": "/var", "used_pct": 86},
    ]
    result = judge(check, "web1", records, check.metrics, "raw")
    assert result.status is Status.CRITICAL
    by_item = {f.item: f.status for f in result.findings}
    assert by_item == {"/": Status.OK, "/srv": Status.CRITICAL, "/var": Status.WARNING}
    assert result.summary.startswith("used_pct[/srv] 96% (warning >= 85, critical >= 95)")
    assert result.raw == "raw"


def test_no_data_is_unknown_never_a_pass() -> None:
    check = disk_check()
    assert judge(check, "web1", [], check.metrics, "").status is Status.UNKNOWN
    garbled = judge(check, "web1", [{"item": "/", "used_pct": "n/a"}], check.metrics, "")
    assert garbled.status is Status.UNKNOWN
    assert "'n/a' is not a number" in garbled.summary
    other = judge(check, "web1", [{"item": "/", "size_kb": 5}], check.metrics, "")
    assert other.status is Status.UNKNOWN
    assert "used_pct: no value in the output" in other.summary


def test_an_empty_answer_can_be_declared_fine() -> None:
    check = disk_check(allow_empty=True)
    assert judge(check, "r1", [], check.metrics, "").status is Status.OK


def test_inventory_overrides_replace_only_the_levels_they_name() -> None:
    metrics = thresholds_for(disk_check(), {"thresholds": {"used_pct": {"warning": 70}}})
    assert metrics["used_pct"].threshold == Threshold(warning=70, critical=95)


def series(
    values: list[float], step: timedelta = timedelta(days=1)
) -> list[tuple[datetime, float]]:
    start = NOW - step * (len(values) - 1)
    return [(start + step * i, value) for i, value in enumerate(values)]


def test_a_disk_filling_within_the_horizon_warns_before_any_threshold() -> None:
    trend = Trend("used_pct", window=timedelta(days=7), reaches=100, within=timedelta(days=7))
    finding = trend_finding(trend, "/srv", series([50, 55, 60, 65, 70]), NOW, "%")
    assert finding is not None
    assert finding.status is Status.WARNING and finding.trend
    assert "reaches 100% in 6.0 days" in finding.message
    slow = trend_finding(trend, "/srv", series([50, 51, 52, 53, 54]), NOW, "%")
    assert slow is None  # 46 days to go


def test_a_steady_rise_warns_and_noise_does_not() -> None:
    trend = Trend("battery_temperature_c", window=timedelta(days=7), rising=0.5)
    steady = trend_finding(trend, "", series([25, 26, 27.1, 28, 29.2]), NOW, " °C")
    assert steady is not None and "rising +1.04 °C/day" in steady.message
    noisy = trend_finding(trend, "", series([25, 31, 24, 32, 26]), NOW)
    assert noisy is None
    too_few = trend_finding(trend, "", series([25, 29]), NOW)
    assert too_few is None


def test_old_points_outside_the_window_are_ignored() -> None:
    trend = Trend("x", window=timedelta(days=2), rising=1, min_points=3)
    # a steep rise long ago, flat since
    assert trend_finding(trend, "", series([0, 10, 20, 30, 30, 30, 30]), NOW) is None


def test_a_counter_that_rose_between_two_readings_warns() -> None:
    trend = Trend("input_errors", window=timedelta(days=1), rising=1, min_points=2, steadiness=0)
    rising = trend_finding(trend, "Gi0/1", series([10, 50], timedelta(hours=1)), NOW)
    assert rising is not None and rising.item == "Gi0/1"
    assert trend_finding(trend, "Gi0/1", series([10, 10], timedelta(hours=1)), NOW) is None


def test_readings_minutes_apart_are_no_trend() -> None:
    trend = Trend("used_pct", window=timedelta(days=7), reaches=100, within=timedelta(days=7))
    minutes = series([40, 40.5, 41, 41.5], timedelta(minutes=5))
    assert trend_finding(trend, "/", minutes, NOW) is None
