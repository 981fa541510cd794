"""hooks.yaml: defaults, every field, and FILE:LINE: field: message problems."""

from __future__ import annotations

import pytest

from automator.api import HooksConfigError, load_hooks_config
from automator.events import EventStatus, Severity


def test_no_file_means_the_built_in_hooks_with_default_secrets(tmp_path):
    config = load_hooks_config(tmp_path / "hooks.yaml")
    assert sorted(config.hooks) == ["alertmanager", "grafana", "zabbix"]
    am = config.hooks["alertmanager"]
    assert (am.token_env, am.hmac_env, am.auth) == (
        "AUTOMATOR_HOOK_TOKEN_ALERTMANAGER",
        "AUTOMATOR_HOOK_HMAC_ALERTMANAGER",
        None,
    )
    assert am.max_body_bytes == 1024 * 1024


def test_every_field(tmp_path):
    path = tmp_path / "hooks.yaml"
    path.write_text(
        "max_body_bytes: 2048\n"
        "zabbix:\n"
        "  auth: hmac\n"
        "  hmac_env: ZBX_KEY\n"
        "  signature_header: X-Zabbix-Signature\n"
        "  max_body_bytes: 4096\n"
        "generic:\n"
        "  my-app:\n"
        "    alerts: items\n"
        "    fields: {name: n, status: s, severity: /sev, labels: tags}\n"
        "    status_map: {1: firing, 0: resolved}\n"
        "    severity_map: {P1: critical}\n"
    )
    config = load_hooks_config(path)
    zabbix = config.hooks["zabbix"]
    assert (zabbix.auth, zabbix.hmac_env, zabbix.signature_header) == (
        "hmac",
        "ZBX_KEY",
        "X-Zabbix-Signature",
    )
    assert zabbix.max_body_bytes == 4096
    assert config.hooks["grafana"].max_body_bytes == 2048
    generic = config.hooks["generic/my-app"]
    assert generic.token_env == "AUTOMATOR_HOOK_TOKEN_GENERIC_MY_APP"
    assert generic.mapping is not None
    assert generic.mapping.status_map == {"1": EventStatus.FIRING, "0": EventStatus.RESOLVED}
    assert generic.mapping.severity_map == {"P1": Severity.CRITICAL}
    assert generic.mapping.alerts is not None and generic.mapping.alerts.steps == ("items",)


def test_problems_name_file_line_and_field(tmp_path):
    path = tmp_path / "hooks.yaml"
    path.write_text(
        "max_body_bytes: -1\n"  # 1
        "alertmanager:\n"  # 2
        "  auth: basic\n"  # 3
        "  token_env: 'not a name'\n"  # 4
        "  colour: blue\n"  # 5
        "generic:\n"  # 6
        "  Bad_Name: {}\n"  # 7
        "  ok:\n"  # 8
        "    fields: {status: '', host: [1]}\n"  # 9
        "    status_map: {up: maybe}\n"  # 10
        "nagios: {}\n"  # 11
    )
    with pytest.raises(HooksConfigError) as caught:
        load_hooks_config(path)
    lines = str(caught.value).splitlines()
    assert lines == [
        "hooks.yaml has 10 problems:",
        f"{path}:1: max_body_bytes: must be a positive whole number of bytes",
        f"{path}:3: alertmanager.auth: must be one of token, hmac, none",
        f"{path}:4: alertmanager.token_env: must be an environment variable name",
        f"{path}:5: alertmanager.colour: unknown field (allowed: auth, token_env, hmac_env, "
        "signature_header, max_body_bytes)",
        f"{path}:7: generic.Bad_Name: names are 1-63 of a-z, 0-9, _ and -",
        f"{path}:9: generic.ok.fields.name: is required",
        f"{path}:9: generic.ok.fields.status: must not be empty (use / for the whole item)",
        f"{path}:9: generic.ok.fields.host: must be a JSON pointer (/a/b) or a dotted path (a.b)",
        f"{path}:10: generic.ok.status_map.up: must be one of firing, resolved",
        f"{path}:11: nagios: unknown field (allowed: max_body_bytes, alertmanager, zabbix, "
        "grafana, generic)",
    ]


def test_yaml_syntax_error(tmp_path):
    path = tmp_path / "hooks.yaml"
    path.write_text("alertmanager:\n  auth: [none\n")
    with pytest.raises(HooksConfigError, match=rf"{path}:3: yaml: "):
        load_hooks_config(path)
