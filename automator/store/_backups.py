"""Tables of the backups package (see automator/backups): the index of every stored version
of every device's configuration, and each device's latest version.

The configurations themselves live in a git repository; these rows say which blob of which
commit holds version N of a host, so that a history is one indexed query and a diff reads two
blobs by id, however long the history grows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from automator.store._models import Base


class BackupVersion(Base):
    """One stored version of one host's configuration. ``run_id`` and ``ticket_id`` are plain
    numbers, not foreign keys: the index can be rebuilt from the repository's commit messages,
    which may name runs of a database that is gone."""

    __tablename__ = "backup_versions"
    __table_args__ = (Index("ix_backup_versions_host_version", "host", "version", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    # 1, 2, 3 ... per host; numbers of pruned versions are not reused
    version: Mapped[int]
    commit: Mapped[str] = mapped_column(String(64))
    blob: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    lines: Mapped[int]
    at: Mapped[datetime]
    run_id: Mapped[int | None]
    ticket_id: Mapped[int | None]


class BackupLatest(Base):
    """The newest version of each host: "latest of every host" reads one row per host instead
    of grouping the whole index."""

    __tablename__ = "backup_latest"
    __table_args__ = (
        ForeignKeyConstraint(
            ["host", "version"], ["backup_versions.host", "backup_versions.version"]
        ),
    )

    host: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[int]
