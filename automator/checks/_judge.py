"""Judge parsed records against a check's thresholds, and values' history against its trends.

Pure functions: no I/O, no clock of their own, so they are tested on plain data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from automator.checks._model import (
    CheckDef,
    CheckResult,
    Finding,
    Metric,
    Status,
    Trend,
    summarise,
    worst,
)

Record = Mapping[str, Any]


def thresholds_for(check: CheckDef, overrides: Mapping[str, Any]) -> dict[str, Metric]:
    """The check's metrics with the host's (and its groups') threshold overrides applied."""
    levels = overrides.get("thresholds", {})
    return {
        name: Metric(name, metric.threshold.with_overrides(levels.get(name, {})), metric.unit)
        for name, metric in check.metrics.items()
    }


def judge(
    check: CheckDef, host: str, records: Sequence[Record], metrics: Mapping[str, Metric], raw: str
) -> CheckResult:
    """One finding per judged value per record. A record's None is "not measured for this
    item" (a VLAN interface has no output error counter); a value that no record measures at
    all is ``unknown``."""
    findings: list[Finding] = []
    seen: set[str] = set()
    for record in records:
        item = str(record.get("item") or "")
        for name, metric in metrics.items():
            if record.get(name) is None:
                continue
            seen.add(name)
            findings.append(_finding(metric, item, record[name]))
    if not records and check.allow_empty:
        return CheckResult(check.name, host, Status.OK, [], "nothing to check", raw)
    for name in metrics:
        if name not in seen:
            findings.append(
                Finding(name, "", None, Status.UNKNOWN, f"{name}: no value in the output")
            )
    status = worst(finding.status for finding in findings)
    return CheckResult(check.name, host, status, findings, summarise(findings), raw)


def unknown(check: str, host: str, why: str, raw: str = "") -> CheckResult:
    return CheckResult(
        check, host, Status.UNKNOWN, [Finding("", "", None, Status.UNKNOWN, why)], why, raw
    )


def _finding(metric: Metric, item: str, raw_value: object) -> Finding:
    label = f"{metric.name}[{item}]" if item else metric.name
    value = _number(raw_value)
    if value is None:
        return Finding(
            metric.name, item, None, Status.UNKNOWN, f"{label}: {raw_value!r} is not a number"
        )
    status = metric.threshold.judge(value)
    shown = f"{label} {value:g}{metric.unit}"
    if status is Status.OK:
        return Finding(metric.name, item, value, status, shown)
    return Finding(metric.name, item, value, status, f"{shown} ({metric.threshold.describe()})")


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# -- trends ---------------------------------------------------------------------------------


def trend_finding(
    trend: Trend,
    item: str,
    series: Sequence[tuple[datetime, float]],
    now: datetime,
    unit: str = "",
) -> Finding | None:
    """A warning when the series (oldest first, within the trend's window) heads for trouble.

    The line is fitted by least squares on (days, value). ``reaches``: the line crosses the
    level within ``within`` from now (and it is heading that way). ``rising``: its slope is at
    least ``rising`` per day and the fit is steady (R² ≥ ``steadiness``), so one warm
    afternoon is not a trend. The readings must span at least a 24th of the window.
    """
    points = [(when, value) for when, value in series if now - when <= trend.window]
    if len(points) < trend.min_points:
        return None
    # readings minutes apart (an operator's repeated `automator check`) say nothing of a
    # rate per day: the points must span a 24th of the window (7 h of a week, 1 h of a day)
    if points[-1][0] - points[0][0] < trend.window / 24:
        return None
    fit = _fit(points)
    if fit is None:
        return None
    slope, intercept, r2 = fit
    label = f"{trend.metric}[{item}]" if item else trend.metric
    origin = points[0][0]
    current = intercept + slope * _days(now - origin)
    if trend.reaches is not None and trend.within is not None and slope != 0:
        days_left = (trend.reaches - current) / slope
        if 0 <= days_left <= trend.within.total_seconds() / 86400:
            return Finding(
                trend.metric,
                item,
                points[-1][1],
                Status.WARNING,
                f"{label} trend: reaches {trend.reaches:g}{unit} in {days_left:.1f} days "
                f"at {slope:+.3g}{unit}/day",
                trend=True,
            )
    if trend.rising is not None and slope >= trend.rising and r2 >= trend.steadiness:
        return Finding(
            trend.metric,
            item,
            points[-1][1],
            Status.WARNING,
            f"{label} trend: rising {slope:+.3g}{unit}/day over {len(points)} readings "
            f"(R² {r2:.2f})",
            trend=True,
        )
    return None


def _fit(points: Sequence[tuple[datetime, float]]) -> tuple[float, float, float] | None:
    origin = points[0][0]
    xs = [_days(when - origin) for when, _ in points]
    ys = [value for _, value in points]
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return None
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    syy = sum((y - mean_y) ** 2 for y in ys)
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    r2 = 1.0 if syy == 0 else (sxy * sxy) / (sxx * syy)
    return slope, intercept, r2


def _days(delta: Any) -> float:
    return float(delta.total_seconds()) / 86400
