from __future__ import annotations

from pathlib import Path

import pytest

from automator.errors import ConfigError
from automator.inventory import Credentials

SECRET = "correct horse battery staple"


def test_no_source_means_no_secret() -> None:
    assert Credentials(username="root").password() is None
    assert Credentials(username="root").enable_secret() is None


def test_password_from_environment_is_read_on_each_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    credentials = Credentials(password_env="AUTOMATOR_TEST_PASSWORD")
    monkeypatch.setenv("AUTOMATOR_TEST_PASSWORD", SECRET)
    assert credentials.password() == SECRET
    monkeypatch.setenv("AUTOMATOR_TEST_PASSWORD", "rotated")
    assert credentials.password() == "rotated"
    assert SECRET not in repr(credentials)
    assert SECRET not in repr(vars(credentials))


def test_missing_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTOMATOR_TEST_PASSWORD", raising=False)
    with pytest.raises(ConfigError) as raised:
        Credentials(password_env="AUTOMATOR_TEST_PASSWORD").password()
    assert str(raised.value) == (
        "credentials.password_env: environment variable AUTOMATOR_TEST_PASSWORD is not set"
    )


def test_empty_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOMATOR_TEST_ENABLE", "")
    with pytest.raises(ConfigError) as raised:
        Credentials(enable_secret_env="AUTOMATOR_TEST_ENABLE").enable_secret()
    assert str(raised.value) == (
        "credentials.enable_secret_env: environment variable AUTOMATOR_TEST_ENABLE is empty"
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (f"{SECRET}\n", SECRET),
        (f"{SECRET}\r\n", SECRET),
        (SECRET, SECRET),
        (f"{SECRET}\n\n", f"{SECRET}\n"),  # one newline only
        (f" {SECRET} ", f" {SECRET} "),
    ],
)
def test_secret_from_file(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "secret"
    path.write_bytes(content.encode())
    assert Credentials(password_file=path).password() == expected
    assert Credentials(enable_secret_file=path).enable_secret() == expected


def test_missing_secret_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        Credentials(enable_secret_file=tmp_path / "enable").enable_secret()
    assert str(raised.value) == f"credentials.enable_secret_file: {tmp_path}/enable does not exist"


def test_empty_secret_file(tmp_path: Path) -> None:
    (tmp_path / "password").write_text("\n")
    with pytest.raises(ConfigError) as raised:
        Credentials(password_file=tmp_path / "password").password()
    assert str(raised.value) == f"credentials.password_file: {tmp_path}/password is empty"


def test_unreadable_secret_file_error_does_not_show_its_content(tmp_path: Path) -> None:
    path = tmp_path / "password"
    path.write_bytes(SECRET.encode() + b"\xff\n")
    with pytest.raises(ConfigError) as raised:
        Credentials(password_file=path).password()
    assert str(raised.value) == f"credentials.password_file: {path} cannot be read: not UTF-8 text"
    assert "horse" not in str(raised.value)
    assert "horse" not in repr(raised.value.__cause__) + repr(raised.value.__context__)


def test_secret_file_that_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        Credentials(password_file=tmp_path).password()
    assert (
        str(raised.value) == f"credentials.password_file: {tmp_path} cannot be read: Is a directory"
    )
