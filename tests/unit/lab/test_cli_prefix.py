"""``automator lab down`` and ``status`` find the lab the state folder's ``lab up`` made."""

from __future__ import annotations

from pathlib import Path

import pytest

from automator.cli import main


@pytest.mark.parametrize(
    ("remembered", "given", "named"),
    [("zz", None, "zz"), ("zz", "other", "other"), (None, None, "lab")],
)
def test_status_names_the_remembered_prefix_unless_one_is_given(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    remembered: str | None,
    given: str | None,
    named: str,
) -> None:
    state = tmp_path / "lab"
    state.mkdir()
    if remembered is not None:
        (state / "prefix").write_text(remembered + "\n")  # as `lab up --prefix zz` leaves it
    args = ["--home", str(tmp_path), "lab", "status", "--state", str(state)]
    assert main(args + (["--prefix", given] if given else [])) == 0
    assert f"Lab '{named}' is not up" in capsys.readouterr().out
