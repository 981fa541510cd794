"""Normalisers: Alertmanager, Grafana and Zabbix bodies as those systems send them."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from automator.events import (
    MAX_LABELS,
    MAX_VALUE_BYTES,
    EventStatus,
    PayloadError,
    Severity,
    from_alertmanager,
    from_grafana,
    from_zabbix,
)

# Alertmanager's documented webhook (docs/configuration.md, <webhook_config>), filled in.
ALERTMANAGER = {
    "version": "4",
    "groupKey": '{}:{alertname="DiskFull"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "automator",
    "groupLabels": {"alertname": "DiskFull"},
    "commonLabels": {"alertname": "DiskFull", "job": "node"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager.example.net:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "DiskFull",
                "instance": "web1.example.net:9100",
                "job": "node",
                "severity": "critical",
            },
            "annotations": {"summary": "/var is 97% full"},
            "startsAt": "2026-11-27T05:58:31.123456789Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=disk",
            "fingerprint": "a1b2c3d4e5f60718",
        },
        {
            "status": "resolved",
            "labels": {"alertname": "DiskFull", "host": "db1", "severity": "warning"},
            "annotations": {},
            "startsAt": "2026-11-27T05:00:00+01:00",
            "endsAt": "2026-11-27T05:30:00Z",
            "generatorURL": "",
            "fingerprint": "0f1e2d3c4b5a6978",
        },
    ],
}

# Grafana's documented webhook contact point body (unified alerting).
GRAFANA = {
    "receiver": "automator",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "High memory usage",
                "grafana_folder": "Servers",
                "team": "blue",
                "nodename": "app3",
            },
            "annotations": {
                "description": "The system has high memory usage",
                "runbook_url": "https://runbooks.example.net/1234",
            },
            "startsAt": "2021-10-12T09:51:03.157076+02:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://grafana.example.net/alerting/1afz29v7z/edit",
            "fingerprint": "c6eadffa33fcdf37",
            "silenceURL": "https://grafana.example.net/alerting/silence/new",
            "dashboardURL": "",
            "panelURL": "",
            "values": {"B": 44.23943737541908, "C": 1},
            "valueString": "[ var='B' labels={} value=44.2 ]",
        }
    ],
    "groupLabels": {},
    "commonLabels": {"team": "blue"},
    "commonAnnotations": {},
    "externalURL": "https://grafana.example.net/",
    "version": "1",
    "groupKey": "{}:{}",
    "truncatedAlerts": 0,
    "title": "[FIRING:1]  (blue)",
    "state": "alerting",
    "message": "**Firing**",
}

# What the webhook media type script in docs/events.md posts: its parameters, as strings.
ZABBIX_PROBLEM = {
    "event_id": "4215",
    "event_name": "High CPU utilization (over 90% for 5m)",
    "host": "web2",
    "host_name": "Web server 2",
    "event_severity": "High",
    "event_nseverity": "4",
    "event_status": "PROBLEM",
    "event_value": "1",
    "event_tags": '[{"tag":"scope","value":"performance"},{"tag":"component","value":"cpu"}]',
    "event_date": "2026.11.27",
    "event_time": "06:01:02",
    "event_recovery_date": "{EVENT.RECOVERY.DATE}",
    "event_recovery_time": "{EVENT.RECOVERY.TIME}",
    "trigger_description": "CPU is busy",
    "event_url": "https://zabbix.example.net/tr_events.php?triggerid=1&eventid=4215",
}


def test_alertmanager_documented_example():
    firing, resolved = from_alertmanager(copy.deepcopy(ALERTMANAGER))
    assert firing.source == "alertmanager"
    assert firing.fingerprint == "a1b2c3d4e5f60718"
    assert firing.status is EventStatus.FIRING
    assert firing.name == "DiskFull"
    assert firing.host == "web1.example.net"
    assert firing.severity is Severity.CRITICAL
    assert firing.labels["job"] == "node"
    assert firing.annotations == {"summary": "/var is 97% full"}
    assert firing.starts_at == datetime(2026, 11, 27, 5, 58, 31, 123456, tzinfo=UTC)
    assert firing.ends_at is None  # Go's zero time
    assert firing.raw == ALERTMANAGER["alerts"][0]
    assert resolved.status is EventStatus.RESOLVED
    assert resolved.host == "db1"
    assert resolved.severity is Severity.WARNING
    assert resolved.starts_at == datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
    assert resolved.ends_at == datetime(2026, 11, 27, 5, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("labels", "host"),
    [
        ({"host": "h1", "instance": "other:1"}, "h1"),
        ({"instance": "web1:9100"}, "web1"),
        ({"instance": "[2001:db8::1]:9100"}, "2001:db8::1"),
        ({"instance": "2001:db8::1"}, "2001:db8::1"),
        ({"instance": "https://shop.example.net/health"}, "shop.example.net"),
        ({"instance": "plainname"}, "plainname"),
        ({"hostname": "h2"}, "h2"),
        ({"nodename": "h3"}, "h3"),
        ({"job": "x"}, None),
    ],
)
def test_alertmanager_host_comes_from_labels(labels, host):
    body = {"alerts": [{"status": "firing", "labels": {"alertname": "A", **labels}}]}
    assert from_alertmanager(body)[0].host == host


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ("critical", Severity.CRITICAL),
        ("Warning", Severity.WARNING),
        ("info", Severity.INFO),
        ("page", Severity.UNKNOWN),
        (None, Severity.UNKNOWN),
    ],
)
def test_alertmanager_severity_label(severity, expected):
    labels = {"alertname": "A"} | ({"severity": severity} if severity else {})
    body = {"alerts": [{"status": "firing", "labels": labels}]}
    assert from_alertmanager(body)[0].severity is expected


def test_alertmanager_without_fingerprint_gets_a_stable_one_from_its_labels():
    body = {"alerts": [{"status": "firing", "labels": {"alertname": "A", "x": "1"}}]}
    again = {"alerts": [{"status": "resolved", "labels": {"x": "1", "alertname": "A"}}]}
    assert from_alertmanager(body)[0].fingerprint == from_alertmanager(again)[0].fingerprint
    other = {"alerts": [{"status": "firing", "labels": {"alertname": "A", "x": "2"}}]}
    assert from_alertmanager(other)[0].fingerprint != from_alertmanager(body)[0].fingerprint


def test_grafana_documented_example():
    (event,) = from_grafana(copy.deepcopy(GRAFANA))
    assert event.source == "grafana"
    assert event.fingerprint == "c6eadffa33fcdf37"
    assert event.name == "High memory usage"
    assert event.host == "app3"
    assert event.severity is Severity.UNKNOWN
    assert event.starts_at == datetime(2021, 10, 12, 7, 51, 3, 157076, tzinfo=UTC)
    assert event.raw["values"] == {"B": 44.23943737541908, "C": 1}


def test_grafana_legacy_alerting_is_refused_clearly():
    with pytest.raises(PayloadError, match="legacy alerting"):
        from_grafana({"ruleName": "old", "state": "alerting", "evalMatches": []})


def test_zabbix_problem():
    (event,) = from_zabbix(dict(ZABBIX_PROBLEM))
    assert event.source == "zabbix"
    assert event.fingerprint == "4215"
    assert event.status is EventStatus.FIRING
    assert event.name == "High CPU utilization (over 90% for 5m)"
    assert event.host == "web2"
    assert event.severity is Severity.CRITICAL
    assert event.labels == {"scope": "performance", "component": "cpu"}
    assert event.starts_at == datetime(2026, 11, 27, 6, 1, 2, tzinfo=UTC)
    assert event.ends_at is None  # the recovery macros were not resolved
    assert event.annotations == {
        "trigger_description": "CPU is busy",
        "event_url": ZABBIX_PROBLEM["event_url"],
    }


def test_zabbix_recovery_keeps_the_problem_id_as_fingerprint():
    recovery = ZABBIX_PROBLEM | {
        "event_status": "RESOLVED",
        "event_value": "0",
        "event_recovery_date": "2026.11.27",
        "event_recovery_time": "07:00:00",
        "timezone": "Europe/Berlin",
    }
    (event,) = from_zabbix(recovery)
    assert event.fingerprint == "4215"
    assert event.status is EventStatus.RESOLVED
    assert event.starts_at == datetime(2026, 11, 27, 5, 1, 2, tzinfo=UTC)
    assert event.ends_at == datetime(2026, 11, 27, 6, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "status", "severity"),
    [
        ({"event_value": "1"}, "firing", "unknown"),
        ({"event_value": 0}, "resolved", "unknown"),
        ({"event_status": "OK", "event_severity": "Average"}, "resolved", "warning"),
        ({"status": "x", "event_value": "1", "event_severity": "Disaster"}, "firing", "critical"),
        ({"event_value": "1", "event_severity": "Information"}, "firing", "info"),
        ({"event_value": "1", "event_severity": "Not classified"}, "firing", "unknown"),
        ({"event_value": 1, "event_severity": "Ren", "event_nseverity": 2}, "firing", "warning"),
    ],
)  # fmt: skip
def test_zabbix_status_and_severity(fields, status, severity):
    (event,) = from_zabbix({"event_id": 7, "trigger_name": "T"} | fields)
    assert (event.status, event.severity, event.fingerprint, event.name) == (
        status,
        severity,
        "7",
        "T",
    )


@pytest.mark.parametrize(
    ("tags", "labels"),
    [
        ([{"tag": "a", "value": "1"}, {"tag": "a", "value": "2"}], {"a": "1,2"}),
        ("scope:ping, service:web, lonely", {"scope": "ping", "service": "web", "lonely": ""}),
        ("{EVENT.TAGS}", {}),
        ("", {}),
        ('[{"tag":"only"}]', {"only": ""}),
    ],
)  # fmt: skip
def test_zabbix_tags(tags, labels):
    (event,) = from_zabbix(_Z | {"event_tags": tags})
    assert event.labels == labels


Body = dict[str, Any]
_Z = {"event_id": "1", "event_name": "N", "event_value": "1"}


def _am(**alert: Any) -> Body:
    return {"version": "4", "alerts": [{"status": "firing", "labels": {"alertname": "A"}} | alert]}


@pytest.mark.parametrize(
    ("body", "path", "reason"),
    [
        ([], "body", "must be a JSON object"),
        ({"version": "3", "alerts": []}, "version", "webhook version 4"),
        ({}, "alerts", "is required"),
        ({"alerts": {}}, "alerts", "must be a JSON array"),
        ({"alerts": [1]}, "alerts[0]", "must be a JSON object"),
        ({"alerts": [{"status": "firing"}]}, "alerts[0].labels", "is required"),
        (_am(labels=["a"]), "alerts[0].labels", "must be a JSON object"),
        (_am(labels={"severity": 3}), "alerts[0].labels.severity", "must be a string"),
        (_am(labels={"a.b": None}), 'alerts[0].labels["a.b"]', "must be a string"),
        (_am(labels={"x": "\x00"}), "alerts[0].labels.x", "NUL"),
        (_am(labels={"": "x"}), 'alerts[0].labels[""]', "names must be"),
        (_am(labels={"x": "é" * (MAX_VALUE_BYTES // 2 + 1)}), "alerts[0].labels.x", "65536 bytes"),
        (_am(labels={f"l{i}": "" for i in range(MAX_LABELS + 1)}), "alerts[0].labels", "at most"),
        (_am(annotations={"s": ["list"]}), "alerts[0].annotations.s", "must be a string"),
        (_am(status="pending"), "alerts[0].status", "must be firing or resolved"),
        (_am(fingerprint=12), "alerts[0].fingerprint", "must be a string"),
        (_am(fingerprint="f" * 201), "alerts[0].fingerprint", "at most 200 characters"),
        (_am(labels={"alertname": "n" * 501}), "alerts[0].labels.alertname", "at most 500"),
        (_am(labels={"host": "h" * 256}), "alerts[0].labels.host", "at most 255"),
        (_am(startsAt="yesterday"), "alerts[0].startsAt", "not an RFC 3339 time"),
        (_am(startsAt="2026-11-27T06:00:00"), "alerts[0].startsAt", "time zone"),
        (_am(endsAt=1764223200), "alerts[0].endsAt", "RFC 3339 time string"),
    ],
)  # fmt: skip
def test_alertmanager_payload_errors_name_the_json_path(body, path, reason):
    with pytest.raises(PayloadError) as caught:
        from_alertmanager(body)
    assert caught.value.path == path
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"{path}: ")


def test_an_error_deep_in_a_batch_names_its_index():
    body = {"alerts": [{"status": "firing", "labels": {"alertname": "A"}}] * 3}
    body["alerts"] = [*body["alerts"], {"status": "firing", "labels": {"severity": 1}}]
    with pytest.raises(PayloadError, match=r"^alerts\[3\]\.labels\.severity: must be a string$"):
        from_alertmanager(body)


@pytest.mark.parametrize(
    ("body", "path", "reason"),
    [
        ("text", "body", "must be a JSON object"),
        ({"event_name": "N", "event_value": "1"}, "event_id", "is required"),
        ({"event_id": "", "event_name": "N", "event_value": "1"}, "event_id", "is required"),
        ({"event_id": 1.5, "event_name": "N", "event_value": "1"}, "event_id", "must be a string"),
        ({"event_id": "1", "event_value": "1"}, "event_name", "is required"),
        ({"event_id": "1", "event_name": "N"}, "event_status", "is required"),
        (_Z | {"event_status": "UPDATE"}, "event_status", "PROBLEM or RESOLVED"),
        (_Z | {"event_value": "2"}, "event_value", "1 (problem) or 0"),
        (_Z | {"event_nseverity": "9"}, "event_nseverity", "0 to 5"),
        (_Z | {"host": ["h"]}, "host", "must be a string"),
        (_Z | {"extra": 5}, "extra", "must be a string"),
        (_Z | {"event_tags": [{"value": "v"}]}, "event_tags[0].tag", "required"),
        (_Z | {"event_tags": [{"tag": "t", "value": 1}]}, "event_tags[0].value", "a string"),
        (_Z | {"event_tags": {"t": "v"}}, "event_tags", "must be a list of {tag, value}"),
        (_Z | {"event_date": "27/11/2026", "event_time": "6:00"}, "event_date", "not a Zabbix"),
        (_Z | {"timezone": "Mars/Olympus"}, "timezone", "not a time zone"),
    ],
)  # fmt: skip
def test_zabbix_payload_errors_name_the_field(body, path, reason):
    with pytest.raises(PayloadError) as caught:
        from_zabbix(body)
    assert (caught.value.path, reason in caught.value.reason) == (path, True)


@pytest.mark.parametrize(
    "hostile",
    [
        "$(rm -rf /)",
        "`reboot`",
        "a; shutdown -h now",
        "{{ lookup('pipe', 'id') }}",
        "{% raw %}x{% endraw %}",
        "../../etc/passwd",
        "[bold red]markup[/]",
        "\x1b[2Jterminal",
    ],
)
def test_hostile_label_values_are_kept_verbatim(hostile):
    body = _am(labels={"alertname": hostile, "host": hostile, "cmd": hostile})
    (event,) = from_alertmanager(body)
    assert event.name == event.host == event.labels["cmd"] == hostile


def _alerts(count: int, **extra: Any) -> Body:
    return {
        "version": "4",
        "alerts": [
            {
                "status": "firing" if n % 2 else "resolved",
                "labels": {"alertname": "A", "instance": f"web{n}:9100", "severity": "warning"},
                "annotations": {"summary": f"s{n}"},
                "startsAt": "2026-11-27T06:00:00.123456789Z",
                "endsAt": "0001-01-01T00:00:00Z" if n % 2 else f"2026-11-27T07:0{n % 10}:00+01:00",
                "fingerprint": f"fp{n}",
            }
            | extra
            for n in range(count)
        ],
    }


@pytest.mark.parametrize(
    "body",
    [
        _alerts(5),
        _alerts(3, annotations=None),
        _alerts(2, labels={"alertname": "A", "x": "é" * (MAX_VALUE_BYTES // 4 + 1)}),  # long
        _alerts(2, startsAt=None, endsAt=None),
    ],
)
def test_the_fast_path_gives_what_the_checked_path_gives(body):
    """Bodies with nothing to refuse take a path without JSON paths (``_plain_alerts``);
    whichever path takes a body, the events are the same."""
    from automator.events._sources import _checked_alerts, _plain_alerts

    fast = from_alertmanager(copy.deepcopy(body))
    assert fast == _checked_alerts(copy.deepcopy(body)["alerts"], "alertmanager")
    if all(len(v) <= MAX_VALUE_BYTES // 4 for a in body["alerts"] for v in a["labels"].values()):
        assert fast == _plain_alerts(copy.deepcopy(body)["alerts"], "alertmanager")


@pytest.mark.parametrize(
    ("alert", "path"),
    [
        ({"status": ["firing"]}, "alerts[1].status"),
        ({"startsAt": {"t": 1}}, "alerts[1].startsAt"),
        ({"labels": {"alertname": "A", "host": "h" * 256}}, "alerts[1].labels.host"),
    ],
)
def test_what_the_fast_path_refuses_is_named_by_the_checked_one(alert, path):
    body = _alerts(3)
    body["alerts"][1] |= alert
    with pytest.raises(PayloadError) as caught:
        from_alertmanager(body)
    assert caught.value.path == path
