"""Settings: one typed object, every value from a flag, an environment variable or a default.

| setting        | flag            | environment            | default          |
|----------------|-----------------|------------------------|------------------|
| inventory_dir  | ``--inventory`` | ``AUTOMATOR_INVENTORY`` | ``./inventory``  |
| home           | ``--home``      | ``AUTOMATOR_HOME``      | ``./.automator`` |
| database_url   | ``--db``        | ``AUTOMATOR_DB``        | SQLite in home   |
| project_dir    | ``--project``   | ``AUTOMATOR_PROJECT``   | ``.``            |
| netns          | ``--netns``     | ``AUTOMATOR_NETNS``     | none             |

``project_dir`` holds ``playbooks/``, ``runbooks/``, ``checks/`` and ``remediations/``.
``home`` holds the SQLite database and ``artifacts/``. ``netns`` names a network namespace the
process enters before it starts any thread, so that hosts living there (the lab) can be
reached.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    inventory_dir: Path
    home: Path
    project_dir: Path
    database_url: str
    netns: str | None = None

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts"

    @property
    def playbooks_dir(self) -> Path:
        return self.project_dir / "playbooks"

    @property
    def runbooks_dir(self) -> Path:
        return self.project_dir / "runbooks"

    @property
    def checks_dir(self) -> Path:
        return self.project_dir / "checks"

    @classmethod
    def from_env(
        cls,
        *,
        inventory_dir: str | Path | None = None,
        home: str | Path | None = None,
        project_dir: str | Path | None = None,
        database_url: str | None = None,
        netns: str | None = None,
        environ: dict[str, str] | None = None,
    ) -> Settings:
        env = os.environ if environ is None else environ
        home_path = Path(home or env.get("AUTOMATOR_HOME") or ".automator").absolute()
        url = database_url or env.get("AUTOMATOR_DB") or f"sqlite:///{home_path / 'automator.db'}"
        return cls(
            inventory_dir=Path(
                inventory_dir or env.get("AUTOMATOR_INVENTORY") or "inventory"
            ).absolute(),
            home=home_path,
            project_dir=Path(project_dir or env.get("AUTOMATOR_PROJECT") or ".").absolute(),
            database_url=url,
            netns=netns or env.get("AUTOMATOR_NETNS") or None,
        )
