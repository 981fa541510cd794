"""The guardrail checks as pure functions: given hosts, a policy and what the store knows,
what may run. The gate (``_gate.py``) feeds them from the store and records their words."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from automator.guardrails._policy import GuardrailPolicy, WindowAction
from automator.inventory import Host


@dataclass
class Admission:
    """The gate's answer for one job."""

    hosts: list[Host]
    skipped: dict[str, str] = field(default_factory=dict)
    refused: str | None = None
    wait_until: datetime | None = None
    notes: list[str] = field(default_factory=list)


def check_windows(hosts: Sequence[Host], policy: GuardrailPolicy, now: datetime) -> Admission:
    """Hosts inside a maintenance or freeze window, handled as the policy says."""
    inside = {h.name: w for h in hosts if (w := h.maintenance_window_at(now)) is not None}
    if not inside:
        return Admission(list(hosts))
    described = ", ".join(
        f"{name} ({window.kind} window {window.name!r} until "
        f"{window.end_after(now):%Y-%m-%d %H:%M %Z})"
        for name, window in sorted(inside.items())
    )
    if policy.break_glass:
        return Admission(
            list(hosts), notes=[f"break-glass ({policy.break_glass}): changing {described}"]
        )
    if policy.window is WindowAction.REFUSE:
        return Admission(
            [], refused=f"inside a window: {described}; a change there needs --break-glass REASON"
        )
    if policy.window is WindowAction.RUN:
        return Admission(
            list(hosts), notes=[f"running inside a window as the rule says: {described}"]
        )
    if policy.window is WindowAction.WAIT:
        until = max(window.end_after(now) for window in inside.values())
        return Admission([], wait_until=until, notes=[f"waiting for windows to close: {described}"])
    kept = [h for h in hosts if h.name not in inside]
    return Admission(
        kept,
        skipped={name: f"skipped: in {w.kind} window {w.name!r}" for name, w in inside.items()},
        notes=[f"skipping hosts inside a window: {described}"],
    )


def check_budget(hosts: Sequence[Host], policy: GuardrailPolicy, used: Iterable[str]) -> Admission:
    """At most ``budget.hosts`` distinct hosts per rule per period; hosts already counted in
    the period do not count twice."""
    if policy.budget is None:
        return Admission(list(hosts))
    spent = set(used)
    admitted: list[Host] = []
    skipped: dict[str, str] = {}
    per = _duration(policy.budget.per.total_seconds())
    for host in hosts:
        if host.name in spent or len(spent) < policy.budget.hosts:
            spent.add(host.name)
            admitted.append(host)
        else:
            skipped[host.name] = (
                f"skipped: blast-radius budget of {policy.budget.hosts} hosts per {per} used up"
            )
    notes = (
        [f"budget: {len(skipped)} host(s) over {policy.budget.hosts} per {per} left out"]
        if skipped
        else []
    )
    return Admission(admitted, skipped=skipped, notes=notes)


def breaker_open(recent_failures: Sequence[bool], threshold: int | None) -> bool:
    """Open after ``threshold`` failed remediations in a row (newest first)."""
    if threshold is None or len(recent_failures) < threshold:
        return False
    return all(recent_failures[:threshold])


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
