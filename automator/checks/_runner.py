"""Run checks on hosts: collect what each host's checks need in one pass, then parse and
judge each check. Implements the runners' ``Runner`` protocol, so a check sweep goes through
the pipeline like any job."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from automator.checks._judge import judge, thresholds_for, unknown
from automator.checks._loader import PLACEHOLDER as _PLACEHOLDER
from automator.checks._model import CheckDef, CheckResult, Metric, Status, worst
from automator.inventory import Host, Inventory
from automator.runners import (
    AnsibleRunner,
    Collect,
    CollectTask,
    HostResult,
    NornirRunner,
    Outcome,
    RunContext,
    RunReport,
)
from automator.store import utcnow


@dataclass(frozen=True)
class Planned:
    """One check as it runs on one host: its commands with the host's parameters filled in
    (one set per value of a list parameter) and its thresholds with the host's overrides."""

    check: CheckDef
    instances: tuple[tuple[tuple[str, ...], Mapping[str, Any]], ...]  # (commands, options)
    metrics: Mapping[str, Metric]


def plan(checks: Sequence[CheckDef], host: Host) -> list[Planned]:
    """The checks that apply to ``host`` and are not turned off for it."""
    planned = []
    for check in checks:
        settings = host.checks.get(check.name, {})
        if not check.applies(host.platform, host.kind) or not settings.get(
            "enabled", check.enabled
        ):
            continue
        params = {**check.params, **settings.get("params", {})}
        commands = check.commands_for(host.platform, host.kind)
        if not commands and not check.snmp and check.playbook is None:
            continue
        planned.append(
            Planned(
                check, tuple(_instances(commands, params, check)), thresholds_for(check, settings)
            )
        )
    return planned


def _instances(
    commands: tuple[str, ...], params: Mapping[str, Any], check: CheckDef
) -> list[tuple[tuple[str, ...], Mapping[str, Any]]]:
    """A list-valued parameter a command uses (``service: [sshd, cron]``) runs the commands
    once per value; the parser sees that value in its options. Other parameters reach the
    parser as options as they are (``expected_up: [Gi0/1]``)."""
    used = {name for command in commands for name in _PLACEHOLDER.findall(command)}
    listed = [name for name in sorted(used) if isinstance(params.get(name), list)]
    if not listed:
        return [(tuple(c.format(**params) for c in commands), {**check.parse_options, **params})]
    name = listed[0]
    return [
        (
            tuple(c.format(**{**params, name: value}) for c in commands),
            {**check.parse_options, **params, name: value},
        )
        for value in params[name]
    ]


class CheckRunner:
    """Collects with Nornir (paramiko, netmiko, SNMP), then parses and judges per check.

    A host's outcome is ``failed`` when one of its checks is critical or unknown, ``ok``
    otherwise (warnings are in its data); unreachable stays unreachable and every one of its
    checks is ``unknown``. ``data["checks"]`` holds every check's result.
    """

    def __init__(
        self,
        checks: Sequence[CheckDef],
        clock: Callable[[], datetime] = utcnow,
        inventory: Inventory | None = None,
    ) -> None:
        self.checks = checks
        self.clock = clock
        self.inventory = inventory  # for the playbooks of fact checks

    def run(self, hosts: Sequence[Host], context: RunContext) -> RunReport:
        names = set(context.params.get("checks") or ())
        checks = [check for check in self.checks if not names or check.name in names]
        plans = {host.name: plan(checks, host) for host in hosts}
        facts, fact_results = self._facts(hosts, plans, context)
        per_host = {
            name: Collect(
                commands=tuple(
                    dict.fromkeys(
                        command
                        for planned in planned_checks
                        for commands, _ in planned.instances
                        for command in commands
                    )
                ),
                snmp={
                    f"{planned.check.name}.{value}": oid
                    for planned in planned_checks
                    for value, oid in planned.check.snmp.items()
                },
            )
            for name, planned_checks in plans.items()
        }
        targets = [
            host for host in hosts if per_host[host.name].commands or per_host[host.name].snmp
        ]
        report = NornirRunner(CollectTask(per_host)).run(targets, context) if targets else None
        now = self.clock()
        results: dict[str, HostResult] = {}
        for host in hosts:
            if not plans[host.name]:
                results[host.name] = HostResult(
                    host.name, Outcome.SKIPPED, error="no check applies to this host"
                )
                continue
            if report is not None and host.name in report.results:
                collected = report.results[host.name]
            else:  # only playbook facts: the playbook run says how the host answered
                collected = fact_results[host.name]
            results[host.name] = self._judge_host(
                host, plans[host.name], collected, facts.get(host.name, {}), now
            )
        return RunReport(
            results=results,
            artifacts_dir=report.artifacts_dir if report else None,
            timed_out=bool(report and report.timed_out),
            error=report.error if report else None,
        )

    def _facts(
        self, hosts: Sequence[Host], plans: Mapping[str, list[Planned]], context: RunContext
    ) -> tuple[dict[str, dict[str, Any]], dict[str, HostResult]]:
        """Run each playbook that checks take facts from, once, on the hosts that need it.
        Returns the facts by host (path -> value, or an ``error:`` entry naming what went
        wrong) and each host's playbook result."""
        wanted: dict[Path, tuple[set[str], list[Host]]] = {}
        for host in hosts:
            for planned in plans[host.name]:
                check = planned.check
                if check.playbook is None or check.fact is None:
                    continue
                paths, targets = wanted.setdefault(check.playbook, (set(), []))
                paths.add(check.fact)
                if host not in targets:
                    targets.append(host)
        facts: dict[str, dict[str, Any]] = {}
        results: dict[str, HostResult] = {}
        if wanted and self.inventory is None:
            raise ValueError("checks that take facts from a playbook need the inventory")
        for playbook, (paths, targets) in wanted.items():
            assert self.inventory is not None
            sub = RunContext(
                ident=f"{context.ident}-{playbook.stem}",
                artifacts_dir=context.artifacts_dir / f"facts-{playbook.stem}",
                timeouts=context.timeouts,
                forks=context.forks,
                cancel=context.cancel,
            )
            sub.artifacts_dir.mkdir(parents=True, exist_ok=True)
            report = AnsibleRunner(playbook, self.inventory, sorted(paths)).run(targets, sub)
            for name, result in report.results.items():
                results.setdefault(name, result)
                host_facts = facts.setdefault(name, {})
                if result.outcome.is_problem or result.outcome is Outcome.SKIPPED:
                    why = f"{playbook.name}: {result.outcome.value}: {result.error or 'no facts'}"
                    host_facts[f"error:{playbook}"] = why
                else:
                    host_facts.update(result.data.get("facts", {}))
        return facts, results

    def _judge_host(
        self,
        host: Host,
        planned: list[Planned],
        collected: HostResult,
        facts: Mapping[str, Any],
        now: datetime,
    ) -> HostResult:
        if collected.outcome not in (Outcome.OK, Outcome.CHANGED):
            why = f"not checked: {collected.outcome.value}: {collected.error or 'no answer'}"
            unchecked = {p.check.name: unknown(p.check.name, host.name, why) for p in planned}
            return HostResult(
                host.name,
                collected.outcome,
                output=collected.output,
                data={"checks": {name: r.to_json() for name, r in unchecked.items()}},
                error=collected.error,
                duration=collected.duration,
                started_at=collected.started_at,
            )
        outputs = {out["command"]: out for out in collected.data.get("outputs", ())}
        snmp = collected.data.get("snmp", {})
        checks = {p.check.name: _run_one(p, host, outputs, snmp, facts, now) for p in planned}
        status = worst(result.status for result in checks.values())
        failing = [r for r in checks.values() if r.status in (Status.CRITICAL, Status.UNKNOWN)]
        return HostResult(
            host.name,
            Outcome.FAILED if failing else Outcome.OK,
            output="\n".join(f"{r.check}: {r.status.value}: {r.summary}" for r in checks.values()),
            data={
                "status": status.value,
                "checks": {name: result.to_json() for name, result in checks.items()},
            },
            transient={"raw": {name: result.raw for name, result in checks.items()}},
            error=(
                "; ".join(f"{r.check} {r.status.value}: {r.summary}" for r in failing)[:500] or None
            ),
            duration=collected.duration,
            started_at=collected.started_at,
        )


def _run_one(
    planned: Planned,
    host: Host,
    outputs: Mapping[str, Mapping[str, Any]],
    snmp: Mapping[str, Any],
    facts: Mapping[str, Any],
    now: datetime,
) -> CheckResult:
    from automator.checks._parsers import CommandOutput, ParseContext, ParseError, parse

    check = planned.check
    if check.playbook is not None and f"error:{check.playbook}" in facts:
        return unknown(check.name, host.name, str(facts[f"error:{check.playbook}"]))
    records: list[dict[str, Any]] = []
    raws: list[str] = []
    try:
        for commands, options in planned.instances:
            fetched = [
                CommandOutput(c, str(outputs[c]["output"]), outputs[c]["rc"]) for c in commands
            ]
            for name in check.snmp:
                value = snmp.get(f"{check.name}.{name}")
                if value is not None:
                    fetched.append(CommandOutput(name, str(value)))
            if check.fact is not None:
                fetched.append(_fact_output(check.fact, facts.get(check.fact)))
            raws.extend(_shown(out.command, out.output, bool(check.snmp)) for out in fetched)
            context = ParseContext(platform=host.platform, now=now, options=options)
            records.extend(parse(check.parser, fetched, context))
    except ParseError as exc:
        raw = "\n".join(raws) if check.keep_raw else _withheld(raws)
        return unknown(check.name, host.name, f"output did not parse: {exc}", raw)
    except KeyError as exc:  # a command's output is missing: the collection was cut short
        return unknown(check.name, host.name, f"no output for {exc}")
    raw = "\n".join(raws) if check.keep_raw else _withheld(raws)
    return judge(check, host.name, records, planned.metrics, raw)


def _fact_output(path: str, value: Any) -> Any:
    """A fact as a JSON document for the parser: an object or list as it is, anything else
    as ``{"<last part of the path>": value}``. A fact the play did not produce is an empty
    output (the parser says so)."""
    from automator.checks._parsers import CommandOutput

    if value is None:
        return CommandOutput(f"fact {path}", "")
    document = value if isinstance(value, dict | list) else {path.rsplit(".", 1)[-1]: value}
    return CommandOutput(f"fact {path}", json.dumps(document, sort_keys=True))


def _shown(command: str, output: str, is_snmp: bool) -> str:
    return f"{command} = {output}" if is_snmp else f"$ {command}\n{output}".rstrip()


def _withheld(raws: list[str]) -> str:
    lines = sum(raw.count("\n") + 1 for raw in raws)
    return f"(output not kept: it may hold secrets; {lines} lines judged)"
